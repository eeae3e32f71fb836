namespace OnnxRev.Runtime;

/// <summary>One element of a compared output.</summary>
/// <param name="OutputName">The output (with <c>[i]</c> suffixes for sequence elements).</param>
/// <param name="FlatIndex">Row-major index of the element in its tensor.</param>
/// <param name="Actual">The actual value, formatted exactly (round-trip for floats).</param>
/// <param name="Expected">The expected value, formatted the same way.</param>
public sealed record ElementDifference(string OutputName, long FlatIndex, string Actual, string Expected);

/// <summary>The outcome of <see cref="OutputComparison.Compare(IReadOnlyDictionary{string, DataValue}, IReadOnlyDictionary{string, DataValue}, double, double)"/>.</summary>
public sealed class ComparisonResult
{
    internal ComparisonResult(bool ok, double maxAbs, double maxRel, ElementDifference? worst, string? reason)
    {
        Ok = ok;
        MaxAbsError = maxAbs;
        MaxRelError = maxRel;
        Worst = worst;
        Reason = reason;
    }

    /// <summary>True when every compared output matches.</summary>
    public bool Ok { get; }

    /// <summary>Largest |actual − expected| over floating-point elements (∞ where NaN/Inf differ); 0 if none.</summary>
    public double MaxAbsError { get; }

    /// <summary>Largest |actual − expected| / |expected| over floating-point elements (∞ when expected is 0 and actual is not).</summary>
    public double MaxRelError { get; }

    /// <summary>
    /// On failure, the element that violated the tolerance most (null when the failure is not about an
    /// element, e.g. a shape mismatch); on success, the element with the largest absolute error, if any.
    /// </summary>
    public ElementDifference? Worst { get; }

    /// <summary>Why the comparison failed, as one sentence; null when <see cref="Ok"/>.</summary>
    public string? Reason { get; }

    /// <inheritdoc />
    public override string ToString() => Ok
        ? $"ok (max abs error {MaxAbsError:G4}, max rel error {MaxRelError:G4})"
        : Reason ?? "failed";
}
