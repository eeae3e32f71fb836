using OnnxRev.Runtime.Recipes;

namespace OnnxRev.Cli.Reports;

/// <summary>The pipeline report's plots (ScottPlot, PNG): size, latency and quality per step; loss curves; the Pareto front of a search.</summary>
internal static class ReportPlots
{
    private const int Width = 820, Height = 420;

    /// <summary>Writes every plot that has data into <paramref name="dir"/>; returns (file name, caption) pairs.</summary>
    public static List<(string File, string Caption)> Write(PipelineResult result, string dir)
    {
        var written = new List<(string, string)>();
        var r = result.Records;
        string[] labels = r.Select(x => x.Index == 0 ? "original" : $"{x.Index}. {x.Name}").ToArray();
        Save(Bars(labels, r.Select(x => x.Bytes / 1024.0).ToArray(), "stored size per step", "KiB"), dir, "size.png", written, "Stored size after each step");
        Save(Bars(labels, r.Select(x => x.LatencyMs).ToArray(), "latency per step (p50, one run)", "ms"), dir, "latency.png", written, "Median latency after each step");
        if (r.All(x => x.Quality?.Accuracy is not null))
            Save(Bars(labels, r.Select(x => x.Quality!.Accuracy!.Value * 100).ToArray(), "accuracy per step", "%", zoom: true), dir, "accuracy.png", written, "Accuracy after each step");
        else if (r.All(x => x.Quality is not null))
            Save(Bars(labels, r.Select(x => x.Quality!.MinCosine).ToArray(), "smallest output cosine vs the original", "cosine", zoom: true), dir, "cosine.png", written, "Smallest cosine against the original after each step");

        var curves = r.Where(x => x.Outcome.LossCurve is { Count: > 0 }).ToList();
        if (curves.Count > 0)
        {
            var plot = new ScottPlot.Plot();
            foreach (var c in curves)
            {
                var ys = c.Outcome.LossCurve!.ToArray();
                var line = plot.Add.Scatter(Enumerable.Range(1, ys.Length).Select(i => (double)i).ToArray(), ys);
                line.LegendText = $"{c.Index}. {c.Name}";
                line.LineWidth = 2;
            }
            plot.Title("training loss per epoch");
            plot.XLabel("epoch");
            plot.YLabel("mean loss");
            plot.ShowLegend();
            Save(plot, dir, "loss.png", written, "Fine-tuning loss curves");
        }

        foreach (var m in r.Where(x => x.Outcome.Memory is { Count: > 0 }))
        {
            var points = m.Outcome.Memory!;
            Save(Bars(points.Select(p => p.Strategy).ToArray(), points.Select(p => (p.ArenaPeakBytes ?? 0) / 1048576.0).ToArray(),
                $"training step peak memory (ORT arena), step {m.Index}", "MiB"), dir, $"memory-{m.Index}.png", written,
                $"Peak memory of one training step per activation strategy (step {m.Index})");
        }

        foreach (var s in r.Where(x => x.Outcome.Candidates is { Count: > 0 }))
        {
            var plot = new ScottPlot.Plot();
            var cands = s.Outcome.Candidates!;
            double Score(SearchCandidate c) => c.Quality.Accuracy is double a ? a * 100 : c.Quality.MinCosine;
            var all = plot.Add.ScatterPoints(cands.Select(c => c.Bytes / 1024.0).ToArray(), cands.Select(Score).ToArray());
            all.LegendText = "candidates";
            all.MarkerSize = 9;
            var front = cands.Where(c => c.Pareto).OrderBy(c => c.Bytes).ToList();
            var line = plot.Add.Scatter(front.Select(c => c.Bytes / 1024.0).ToArray(), front.Select(Score).ToArray());
            line.LegendText = "Pareto front";
            line.LineWidth = 2;
            foreach (var c in cands)
            {
                var t = plot.Add.Text(c.Label + (c.Chosen ? " (kept)" : ""), c.Bytes / 1024.0, Score(c));
                t.LabelFontSize = 11;
            }
            plot.Axes.Margins(horizontal: 0.25, vertical: 0.15);
            plot.Title($"{s.Name}: quality against size");
            plot.XLabel("stored size (KiB)");
            plot.YLabel(cands[0].Quality.Accuracy is null ? "smallest cosine" : "accuracy (%)");
            plot.ShowLegend();
            Save(plot, dir, $"pareto-{s.Index}.png", written, $"Search of step {s.Index} ({s.Name}): candidates and their Pareto front");
        }
        return written;
    }

    private static ScottPlot.Plot Bars(string[] labels, double[] values, string title, string unit, bool zoom = false)
    {
        var plot = new ScottPlot.Plot();
        var bars = plot.Add.Bars(values);
        for (int i = 0; i < bars.Bars.Count; i++) bars.Bars[i].Label = values[i].ToString(values[i] >= 100 ? "F0" : "G4", System.Globalization.CultureInfo.InvariantCulture);
        bars.ValueLabelStyle.FontSize = 11;
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(Enumerable.Range(0, labels.Length).Select(i => (double)i).ToArray(), labels);
        plot.Axes.Bottom.TickLabelStyle.Rotation = labels.Length > 4 ? 20 : 0;
        plot.Axes.Bottom.TickLabelStyle.Alignment = labels.Length > 4 ? ScottPlot.Alignment.MiddleLeft : ScottPlot.Alignment.UpperCenter;
        plot.Title(title);
        plot.YLabel(unit);
        plot.Axes.AutoScale();
        if (zoom && values.Length > 0)
        {
            double lo = values.Min(), hi = values.Max(), pad = Math.Max((hi - lo) * 0.5, Math.Abs(hi) * 0.002);
            plot.Axes.SetLimitsY(lo - pad, hi + pad);
        }
        else plot.Axes.SetLimitsY(0, Math.Max(1e-9, values.DefaultIfEmpty(1).Max() * 1.15));
        return plot;
    }

    private static void Save(ScottPlot.Plot plot, string dir, string file, List<(string, string)> written, string caption)
    {
        File.WriteAllBytes(Path.Combine(dir, file), plot.GetImageBytes(Width, Height, ScottPlot.ImageFormat.Png));
        written.Add((file, caption));
    }
}
