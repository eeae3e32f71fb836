using System.Globalization;
using System.Text.Json.Nodes;
using OnnxRev.Passes;
using OnnxRev.Serialization;

namespace OnnxRev.Runtime.Recipes.Steps;

/// <summary>
/// <c>{"step": "search", "passes": ["low-rank"], "option": "energy", "values": [0.9, 0.95, 0.99]}</c>: applies the passes
/// once per value of one option, measures every candidate (size, quality against the original, latency), marks the
/// Pareto front (smaller and better), and keeps the smallest candidate that meets the recipe's quality goals
/// (accuracy_drop, min_accuracy, min_cosine) — or, when none does, the best one, saying so.
/// </summary>
internal sealed class SearchStep : IRecipeStep
{
    public string Kind => "search";

    public string Help => "tries \"passes\" with \"option\" set to each of \"values\", keeps the smallest candidate meeting the quality goals (Pareto front in the report)";

    public StepOutcome Run(RecipeStep step, PipelineContext context)
    {
        var names = step.Options.GetList("passes");
        string option = step.Options.Get("option") ?? throw new OnnxRevException("\"option\" names no option to search over");
        var values = step.Options.GetList("values");
        if (names.Count == 0 || values.Count == 0) throw new OnnxRevException("a search needs \"passes\" and \"values\"");
        var quality = context.Recipe!.Goals.Where(g => g.Key is "accuracy_drop" or "min_accuracy" or "min_cosine").ToList();
        var baseline = context.Records[0].Quality;

        var tried = new List<(string Label, string Path, long Bytes, Quality Quality, double Latency)>();
        foreach (var value in values)
        {
            var options = new Dictionary<string, string?>(step.Options.Values.Where(kv => kv.Key is not ("passes" or "option" or "values"))) { [option] = value };
            var passes = PassesStep.Create(names, new PassOptions(options));
            var run = new PassManager(passes).Run(ModelReader.Load(context.CurrentModel));
            string path = context.NewModelPath($"{step.Name}-{option}-{value}");
            ModelWriter.Save(run.Model, path);
            var (q, latency) = context.Measure(path, Math.Max(10, context.Settings.BenchIterations / 2));
            if (q is null) throw new OnnxRevException("a search needs evaluation data (--data or --validation) to judge candidates");
            string label = $"{option}={value}";
            tried.Add((label, path, PipelineRunner.FileBytes(path), q, latency));
            context.Settings.Log(string.Create(CultureInfo.InvariantCulture,
                $"  {label}: {tried[^1].Bytes:N0} bytes, {(q.Accuracy is double a ? $"accuracy {a:P2}, " : "")}min cosine {q.MinCosine:F4}, p50 {latency:F3} ms"));
        }

        bool Meets(Quality q) => quality.All(g => g.Key switch
        {
            "accuracy_drop" => q.Accuracy is not double a || baseline?.Accuracy is not double a0 || (a0 - a) * 100 <= g.Target,
            "min_accuracy" => q.Accuracy is not double a2 || a2 * 100 >= g.Target,
            _ => q.MinCosine >= g.Target,
        });
        double Score(Quality q) => q.Accuracy ?? q.MinCosine;
        var meeting = tried.Where(t => Meets(t.Quality)).ToList();
        var chosen = meeting.Count > 0 ? meeting.MinBy(t => t.Bytes) : tried.MaxBy(t => Score(t.Quality));
        if (meeting.Count == 0) context.Settings.Log($"  no candidate meets {string.Join(", ", quality)}; keeping the best one ({chosen.Label})");
        else context.Settings.Log($"  kept {chosen.Label}: the smallest of {meeting.Count} meeting the quality goals");

        var candidates = tried.Select(t => new SearchCandidate(t.Label, t.Bytes, t.Quality, t.Latency,
            Pareto: !tried.Any(u => u != t && u.Bytes <= t.Bytes && Score(u.Quality) >= Score(t.Quality) && (u.Bytes < t.Bytes || Score(u.Quality) > Score(t.Quality))),
            Chosen: t.Label == chosen.Label)).ToList();
        return new StepOutcome(chosen.Path, new JsonObject
        {
            ["option"] = option,
            ["chosen"] = chosen.Label,
            ["candidates"] = new JsonArray(candidates.Select(c => (JsonNode)new JsonObject
            {
                ["label"] = c.Label, ["bytes"] = c.Bytes, ["accuracy"] = c.Quality.Accuracy, ["min_cosine"] = c.Quality.MinCosine,
                ["latency_ms"] = c.LatencyMs, ["pareto"] = c.Pareto, ["chosen"] = c.Chosen,
            }).ToArray()),
        }, Candidates: candidates);
    }
}
