using System.Globalization;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using OnnxRev.Passes;

namespace OnnxRev.Runtime.Recipes;

/// <summary>One step of a recipe: its kind (what runs), a display name, and its options.</summary>
/// <param name="Kind">The step kind, e.g. passes, quantize, fine-tune, search, benchmark, package.</param>
/// <param name="Name">How reports call it (default: the kind).</param>
/// <param name="Options">Every other field of the step, as option values.</param>
/// <param name="Raw">The step's JSON object (lists such as "passes" and "values" are read from here).</param>
/// <param name="Reference">"reference": true — from this step on, cosines compare against the model after it (e.g. after training from scratch).</param>
public sealed record RecipeStep(string Kind, string Name, PassOptions Options, JsonObject Raw, bool Reference = false);

/// <summary>
/// A pipeline recipe: steps that change or measure the model, and goals the final model must meet. Written as JSON:
/// <code>
/// { "name": "...", "description": "...",
///   "goals": { "accuracy_drop": 0.5, "size_ratio": 3.5, "p50_ms": 5, "bytes": 4000000, "training_peak_bytes": 268435456 },
///   "steps": [ { "step": "passes", "passes": ["cleanup"] }, { "step": "quantize", "mode": "static" }, ... ] }
/// </code>
/// </summary>
public sealed record Recipe(string Name, string Description, IReadOnlyList<Goal> Goals, IReadOnlyList<RecipeStep> Steps, string Json)
{
    /// <summary>The recipes that ship with OnnxRev.</summary>
    public static IReadOnlyList<string> BuiltInNames => BuiltIn.Keys.Order(StringComparer.Ordinal).ToList();

    private static readonly Dictionary<string, string> BuiltIn = LoadBuiltIn();

    /// <summary>A built-in recipe by name, or a recipe file.</summary>
    /// <exception cref="OnnxRevException">Neither a built-in name nor a readable, valid recipe file.</exception>
    public static Recipe Load(string nameOrPath)
    {
        if (BuiltIn.TryGetValue(nameOrPath, out var json)) return Parse(json, nameOrPath);
        if (!File.Exists(nameOrPath))
            throw new OnnxRevException($"recipe '{nameOrPath}' is neither a built-in recipe ({string.Join(", ", BuiltInNames)}) nor an existing file");
        return Parse(File.ReadAllText(nameOrPath), nameOrPath);
    }

    /// <summary>Parses recipe JSON; every mistake names the recipe and the step or goal at fault.</summary>
    public static Recipe Parse(string json, string source)
    {
        JsonObject root;
        try
        {
            root = JsonNode.Parse(json, documentOptions: new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true }) as JsonObject
                ?? throw new OnnxRevException($"recipe '{source}' is not a JSON object");
        }
        catch (JsonException e)
        {
            throw new OnnxRevException($"recipe '{source}' is not valid JSON: {e.Message}");
        }
        foreach (var key in root.Select(p => p.Key))
            if (key is not ("name" or "description" or "goals" or "steps"))
                throw new OnnxRevException($"recipe '{source}': unknown field '{key}' (fields: name, description, goals, steps)");
        var goals = new List<Goal>();
        if (root["goals"] is JsonObject g)
            foreach (var (key, value) in g) goals.Add(Goal.Parse(key, value, source));
        else if (root["goals"] is not null) throw new OnnxRevException($"recipe '{source}': 'goals' must be an object such as {{\"accuracy_drop\": 0.5}}");
        if (root["steps"] is not JsonArray steps || steps.Count == 0) throw new OnnxRevException($"recipe '{source}': 'steps' must be a non-empty list");
        var parsed = new List<RecipeStep>();
        for (int i = 0; i < steps.Count; i++)
        {
            if (steps[i] is not JsonObject s || s["step"]?.GetValueKind() != JsonValueKind.String)
                throw new OnnxRevException($"recipe '{source}': step {i + 1} must be an object with a \"step\" kind");
            string kind = (string)s["step"]!;
            string name = s["name"]?.GetValueKind() == JsonValueKind.String ? (string)s["name"]! : kind;
            var options = new Dictionary<string, string?>();
            foreach (var (key, value) in s)
            {
                if (key is "step" or "name" or "reference" || value is null) continue;
                options[key] = value.GetValueKind() switch
                {
                    JsonValueKind.String => (string)value!,
                    JsonValueKind.Number => value.GetValue<double>().ToString("R", CultureInfo.InvariantCulture),
                    JsonValueKind.True => "true",
                    JsonValueKind.False => "false",
                    JsonValueKind.Array => string.Join(',', value.AsArray().Select(v => v?.GetValueKind() == JsonValueKind.Number
                        ? v.GetValue<double>().ToString("R", CultureInfo.InvariantCulture) : v?.ToString())),
                    _ => value.ToJsonString(),
                };
            }
            bool reference = false;
            if (s["reference"] is { } r)
            {
                if (r.GetValueKind() is not (JsonValueKind.True or JsonValueKind.False))
                    throw new OnnxRevException($"recipe '{source}': step {i + 1}'s \"reference\" must be true or false");
                reference = r.GetValueKind() == JsonValueKind.True;
            }
            parsed.Add(new RecipeStep(kind, name, new PassOptions(options), s, reference));
        }
        return new Recipe(root["name"]?.ToString() ?? Path.GetFileNameWithoutExtension(source), root["description"]?.ToString() ?? "", goals, parsed, json);
    }

    private static Dictionary<string, string> LoadBuiltIn()
    {
        var asm = typeof(Recipe).Assembly;
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var resource in asm.GetManifestResourceNames().Where(n => n.Contains(".Recipes.BuiltIn.", StringComparison.Ordinal) && n.EndsWith(".json", StringComparison.Ordinal)))
        {
            using var stream = asm.GetManifestResourceStream(resource)!;
            using var reader = new StreamReader(stream);
            string name = resource[(resource.IndexOf(".Recipes.BuiltIn.", StringComparison.Ordinal) + ".Recipes.BuiltIn.".Length)..^".json".Length];
            result[name] = reader.ReadToEnd();
        }
        return result;
    }
}
