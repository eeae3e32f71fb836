using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace OnnxRev.Runtime.Recipes;

/// <summary>A goal the final model must meet.</summary>
/// <param name="Key">The goal's field name in the recipe.</param>
/// <param name="Target">The threshold.</param>
public sealed record Goal(string Key, double Target)
{
    /// <summary>Every goal a recipe may state: field name → (what it means, true when the value must be at most the target).</summary>
    public static readonly IReadOnlyDictionary<string, (string Meaning, bool AtMost, string Unit)> Known = new Dictionary<string, (string, bool, string)>
    {
        ["accuracy_drop"] = ("accuracy lost against the original, in points (labelled data)", true, " points"),
        ["min_accuracy"] = ("accuracy of the final model, in percent (labelled data)", false, " %"),
        ["min_cosine"] = ("smallest cosine of the final model's outputs against the original's (per sample, or per token for text)", false, ""),
        ["bytes"] = ("stored size of the final model", true, " bytes"),
        ["size_ratio"] = ("original size / final size", false, "×"),
        ["p50_ms"] = ("median latency of one run of the final model", true, " ms"),
        ["speedup"] = ("original p50 / final p50, timed side by side", false, "×"),
        ["training_peak_bytes"] = ("largest process peak while fine-tuning", true, " bytes"),
    };

    /// <summary>Whether the measured value must not exceed <see cref="Target"/> (else must reach it).</summary>
    public bool AtMost => Known[Key].AtMost;

    /// <summary>"size_ratio ≥ 3.5×"-style text.</summary>
    public override string ToString() => Known[Key].Unit == " bytes"
        ? string.Create(CultureInfo.InvariantCulture, $"{Key} {(AtMost ? "≤" : "≥")} {Target:N0} bytes")
        : string.Create(CultureInfo.InvariantCulture, $"{Key} {(AtMost ? "≤" : "≥")} {Target:G6}{Known[Key].Unit}");

    /// <summary>A measured value in this goal's unit ("172,696,000 bytes", "3.52×").</summary>
    public string Format(double value) => Known[Key].Unit == " bytes"
        ? string.Create(CultureInfo.InvariantCulture, $"{value:N0} bytes")
        : string.Create(CultureInfo.InvariantCulture, $"{value:G5}{Known[Key].Unit}");

    /// <summary>Parses one goal of a recipe.</summary>
    public static Goal Parse(string key, JsonNode? value, string source)
    {
        if (!Known.ContainsKey(key))
            throw new OnnxRevException($"recipe '{source}': unknown goal '{key}' (goals: {string.Join(", ", Known.Keys)})");
        if (value is null || value.GetValueKind() != JsonValueKind.Number)
            throw new OnnxRevException($"recipe '{source}': goal '{key}' must be a number");
        double v = value.GetValue<double>();
        if (!double.IsFinite(v) || v < 0) throw new OnnxRevException($"recipe '{source}': goal '{key}' must be a non-negative number, got {v}");
        return new Goal(key, v);
    }
}

/// <summary>How the final model did against one goal.</summary>
/// <param name="Goal">The goal.</param>
/// <param name="Actual">The measured value (null when the goal does not apply, e.g. accuracy without labels).</param>
/// <param name="Met">Whether it holds (false when it does not apply).</param>
/// <param name="Note">Why it does not apply, or by how much it was missed.</param>
public sealed record GoalResult(Goal Goal, double? Actual, bool Met, string Note)
{
    /// <summary>Whether the goal could be measured.</summary>
    public bool Applies => Actual is not null;
}
