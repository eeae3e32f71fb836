using System.Globalization;
using System.Net;
using System.Text;
using OnnxRev.Runtime.Recipes;

namespace OnnxRev.Cli.Reports;

/// <summary>Writes a pipeline run's report: report.md and report.html (same content) with PNG plots, into a folder.</summary>
internal static class ReportWriter
{
    /// <summary>Writes the report into <paramref name="dir"/> (an empty staging folder); returns the Markdown file's name.</summary>
    public static string Write(PipelineResult result, string modelPath, string outputPath, string dataDescription, string dir)
    {
        var plots = ReportPlots.Write(result, dir);
        var md = new StringBuilder();
        md.AppendLine($"# OnnxRev pipeline report: {result.Recipe.Name}");
        md.AppendLine();
        if (result.Recipe.Description.Length > 0) md.AppendLine(result.Recipe.Description).AppendLine();
        md.AppendLine($"- model: `{modelPath}` → `{outputPath}`");
        md.AppendLine($"- evaluation data: {dataDescription}");
        md.AppendLine(Inv($"- run time: {result.Seconds:F1} s; written {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC"));
        md.AppendLine();
        md.AppendLine($"## Goals: {(result.GoalsMet ? "all met" : "NOT MET")}");
        md.AppendLine();
        if (result.Goals.Count == 0) md.AppendLine("The recipe states no goals.");
        else
        {
            md.AppendLine("| goal | measured | result |");
            md.AppendLine("|---|---|---|");
            foreach (var g in result.Goals)
                md.AppendLine(Inv($"| {g.Goal} | {(g.Actual is double v ? g.Goal.Format(v) : "—")} | {(g.Applies ? (g.Met ? "met" : "**" + g.Note + "**") : g.Note)} |"));
        }
        md.AppendLine();
        md.AppendLine("## Steps");
        md.AppendLine();
        bool acc = result.Records.Any(r => r.Quality?.Accuracy is not null), cos = result.Records.Any(r => r.Quality is not null);
        md.AppendLine("| # | step | size (bytes) | size ratio | p50 (ms) |" + (acc ? " accuracy |" : "") + (cos ? " min cosine |" : "") + " time (s) |");
        md.AppendLine("|---|---|---|---|---|" + (acc ? "---|" : "") + (cos ? "---|" : "") + "---|");
        long first = result.Records[0].Bytes;
        foreach (var r in result.Records)
            md.AppendLine(Inv($"| {r.Index} | {r.Name} | {r.Bytes:N0} | {(double)first / r.Bytes:F2}× | {r.LatencyMs:F3} |") +
                (acc ? Inv($" {(r.Quality?.Accuracy is double a ? (a * 100).ToString("F2", CultureInfo.InvariantCulture) + " %" : "—")} |") : "") +
                (cos ? Inv($" {(r.Quality is { } q ? q.MinCosine.ToString("F4", CultureInfo.InvariantCulture) : "—")} |") : "") +
                Inv($" {r.Seconds:F1} |"));
        md.AppendLine();
        md.AppendLine(Inv($"Side by side (alternating runs, {result.Final.Iterations} each): original p50 {result.Original.P50Ms:F3} ms / p99 {result.Original.P99Ms:F3} ms, final p50 {result.Final.P50Ms:F3} ms / p99 {result.Final.P99Ms:F3} ms → {result.Original.P50Ms / result.Final.P50Ms:F2}× the speed."));
        var peaks = result.Records.Where(r => r.Outcome.TrainingPeakBytes is not null).ToList();
        foreach (var p in peaks) md.AppendLine(Inv($"Training peak resident set in step {p.Index} ({p.Name}): {p.Outcome.TrainingPeakBytes!.Value / 1048576.0:F1} MiB."));
        foreach (var m in result.Records.Where(r => r.Outcome.Memory is { Count: > 0 }))
        {
            md.AppendLine();
            md.AppendLine(Inv($"Training memory in step {m.Index} ({m.Name}), batch {m.Outcome.Details["batch"]}:"));
            md.AppendLine();
            md.AppendLine("| strategy | step peak (ORT arena, MiB) | ms per step |");
            md.AppendLine("|---|---|---|");
            foreach (var p in m.Outcome.Memory!) md.AppendLine(Inv($"| {p.Strategy} | {(p.ArenaPeakBytes ?? 0) / 1048576.0:F2} | {p.StepSeconds * 1000:F1} |"));
        }
        md.AppendLine();
        md.AppendLine("## Plots");
        md.AppendLine();
        foreach (var (file, caption) in plots) md.AppendLine($"![{caption}]({file})").AppendLine();
        md.AppendLine("## Step details");
        md.AppendLine();
        foreach (var r in result.Records.Skip(1))
            md.AppendLine($"- **{r.Index}. {r.Name}** ({r.Kind}): `{r.Outcome.Details.ToJsonString()}`");
        md.AppendLine();
        md.AppendLine("## Recipe");
        md.AppendLine();
        md.AppendLine("```json").AppendLine(result.Recipe.Json.Trim()).AppendLine("```");

        File.WriteAllText(Path.Combine(dir, "report.md"), md.ToString());
        File.WriteAllText(Path.Combine(dir, "report.html"), ToHtml(md.ToString(), result.Recipe.Name));
        return "report.md";
    }

    /// <summary>A small Markdown-to-HTML rendering of exactly the constructs the report uses (headings, lists, tables, images, code).</summary>
    private static string ToHtml(string markdown, string title)
    {
        var html = new StringBuilder();
        html.Append("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>").Append(WebUtility.HtmlEncode(title)).Append("</title>")
            .Append("<style>body{font-family:sans-serif;max-width:960px;margin:2em auto}table{border-collapse:collapse}td,th{border:1px solid #bbb;padding:4px 8px;text-align:right}")
            .Append("td:nth-child(2),th:nth-child(2){text-align:left}code,pre{background:#f4f4f4}pre{padding:8px;overflow:auto}img{max-width:100%}</style></head><body>\n");
        var lines = markdown.Split('\n');
        bool inTable = false, inList = false, inCode = false;
        foreach (var raw in lines)
        {
            string line = raw.TrimEnd('\r');
            if (line.StartsWith("```"))
            {
                html.Append(inCode ? "</pre>\n" : "<pre>");
                inCode = !inCode;
                continue;
            }
            if (inCode) { html.Append(WebUtility.HtmlEncode(line)).Append('\n'); continue; }
            if (inTable && !line.StartsWith('|')) { html.Append("</table>\n"); inTable = false; }
            if (inList && !line.StartsWith("- ")) { html.Append("</ul>\n"); inList = false; }
            if (line.StartsWith("## ")) html.Append("<h2>").Append(Inline(line[3..])).Append("</h2>\n");
            else if (line.StartsWith("# ")) html.Append("<h1>").Append(Inline(line[2..])).Append("</h1>\n");
            else if (line.StartsWith("|---")) continue;
            else if (line.StartsWith('|'))
            {
                string tag = inTable ? "td" : "th";
                if (!inTable) { html.Append("<table>\n"); inTable = true; }
                html.Append("<tr>");
                foreach (var cell in line.Trim('|').Split('|')) html.Append('<').Append(tag).Append('>').Append(Inline(cell.Trim())).Append("</").Append(tag).Append('>');
                html.Append("</tr>\n");
            }
            else if (line.StartsWith("- "))
            {
                if (!inList) { html.Append("<ul>\n"); inList = true; }
                html.Append("<li>").Append(Inline(line[2..])).Append("</li>\n");
            }
            else if (line.StartsWith("!["))
            {
                int close = line.IndexOf("](", StringComparison.Ordinal);
                string alt = line[2..close], src = line[(close + 2)..^1];
                html.Append("<figure><img src=\"").Append(WebUtility.HtmlEncode(src)).Append("\" alt=\"").Append(WebUtility.HtmlEncode(alt))
                    .Append("\"><figcaption>").Append(WebUtility.HtmlEncode(alt)).Append("</figcaption></figure>\n");
            }
            else if (line.Length > 0) html.Append("<p>").Append(Inline(line)).Append("</p>\n");
        }
        if (inTable) html.Append("</table>\n");
        if (inList) html.Append("</ul>\n");
        return html.Append("</body></html>\n").ToString();
    }

    /// <summary>Escapes text and renders `code` and **bold**.</summary>
    private static string Inline(string text)
    {
        var parts = WebUtility.HtmlEncode(text).Split('`');
        var sb = new StringBuilder();
        for (int i = 0; i < parts.Length; i++)
        {
            if (i % 2 == 1) sb.Append("<code>").Append(parts[i]).Append("</code>");
            else
            {
                var bold = parts[i].Split("**");
                for (int k = 0; k < bold.Length; k++) sb.Append(k % 2 == 1 ? "<b>" + bold[k] + "</b>" : bold[k]);
            }
        }
        return sb.ToString();
    }

    private static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
