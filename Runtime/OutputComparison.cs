using OnnxRev.Schema;
using DT = OnnxRev.Schema.TensorProto.Types.DataType;

namespace OnnxRev.Runtime;

/// <summary>
/// Compares actual against expected outputs. Floating-point elements pass when
/// |a − e| ≤ atol + rtol·|e| (numpy allclose), NaN equals NaN, and ±Inf must match exactly; integer, bool and
/// string elements must be equal; element type and shape must match.
/// </summary>
public static class OutputComparison
{
    /// <summary>Compares every expected output with the actual output of the same name (extra actual outputs are ignored).</summary>
    public static ComparisonResult Compare(IReadOnlyDictionary<string, DataValue> actual, IReadOnlyDictionary<string, DataValue> expected,
        double rtol = 1e-5, double atol = 1e-8)
    {
        ArgumentNullException.ThrowIfNull(actual);
        ArgumentNullException.ThrowIfNull(expected);
        var acc = new Accumulator(rtol, atol);
        foreach (var (name, e) in expected)
        {
            if (!actual.TryGetValue(name, out var a)) acc.Fail($"Output '{name}' is missing from the actual outputs.");
            else acc.Value(name, a, e);
        }
        return acc.Result();
    }

    /// <summary>Compares one output value.</summary>
    public static ComparisonResult Compare(string name, DataValue actual, DataValue expected, double rtol = 1e-5, double atol = 1e-8)
    {
        ArgumentNullException.ThrowIfNull(actual);
        ArgumentNullException.ThrowIfNull(expected);
        var acc = new Accumulator(rtol, atol);
        acc.Value(name, actual, expected);
        return acc.Result();
    }

    /// <summary>True when both values have the same structure, element types, shapes and identical element bits.</summary>
    public static bool BitIdentical(DataValue a, DataValue b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        if (a.Kind != b.Kind) return false;
        switch (a.Kind)
        {
            case DataValueKind.Optional:
                return a.OptionalValue is null ? b.OptionalValue is null : b.OptionalValue is not null && BitIdentical(a.OptionalValue, b.OptionalValue);
            case DataValueKind.Sequence:
                var sa = a.SequenceValue!;
                var sb = b.SequenceValue!;
                return sa.Count == sb.Count && sa.Zip(sb).All(p => BitIdentical(p.First, p.Second));
            default:
                TensorProto ta = a.TensorValue!, tb = b.TensorValue!;
                if (ta.DataType != tb.DataType || !ta.Dims.SequenceEqual(tb.Dims)) return false;
                if (ta.DataType == (int)DT.String) return TensorProtoData.GetStrings(ta).SequenceEqual(TensorProtoData.GetStrings(tb));
                return TensorProtoData.GetBytes(ta).AsSpan().SequenceEqual(TensorProtoData.GetBytes(tb));
        }
    }

    /// <summary>True when both sets of outputs have the same names and bit-identical values.</summary>
    public static bool BitIdentical(IReadOnlyDictionary<string, DataValue> a, IReadOnlyDictionary<string, DataValue> b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        return a.Count == b.Count && a.All(p => b.TryGetValue(p.Key, out var other) && BitIdentical(p.Value, other));
    }

    private sealed class Accumulator(double rtol, double atol)
    {
        private double _maxAbs, _maxRel;
        private double _worstExcess = double.NegativeInfinity, _worstAbs = double.NegativeInfinity;
        private ElementDifference? _worstFailing, _largest;
        private string? _reason;        // first structural or exact-match failure
        private string? _toleranceReason; // worst floating-point tolerance failure

        public void Fail(string reason) => _reason ??= reason;

        public ComparisonResult Result() => (_reason ?? _toleranceReason) is not { } reason
            ? new ComparisonResult(true, _maxAbs, _maxRel, _largest, null)
            : new ComparisonResult(false, _maxAbs, _maxRel, _worstFailing, reason);

        public void Value(string name, DataValue a, DataValue e)
        {
            if (a.Kind != e.Kind) { Fail($"Output '{name}' is a {Kind(a)} but a {Kind(e)} was expected."); return; }
            switch (e.Kind)
            {
                case DataValueKind.Optional:
                    if (a.HasValue != e.HasValue) Fail($"Output '{name}' is {(a.HasValue ? "present" : "None")} but {(e.HasValue ? "a value" : "None")} was expected.");
                    else if (e.OptionalValue is not null) Value(name, a.OptionalValue!, e.OptionalValue);
                    return;
                case DataValueKind.Sequence:
                    var sa = a.SequenceValue!;
                    var se = e.SequenceValue!;
                    if (sa.Count != se.Count) { Fail($"Output '{name}' has {sa.Count} sequence elements but {se.Count} were expected."); return; }
                    for (int i = 0; i < se.Count; i++) Value($"{name}[{i}]", sa[i], se[i]);
                    return;
                default:
                    Tensor(name, a.TensorValue!, e.TensorValue!);
                    return;
            }
        }

        private void Tensor(string name, TensorProto a, TensorProto e)
        {
            if (a.DataType != e.DataType)
            {
                Fail($"Output '{name}' has element type {ElementTypes.Name(a.DataType)} but {ElementTypes.Name(e.DataType)} was expected.");
                return;
            }
            if (!a.Dims.SequenceEqual(e.Dims))
            {
                Fail($"Output '{name}' has shape [{string.Join(",", a.Dims)}] but [{string.Join(",", e.Dims)}] was expected.");
                return;
            }
            int dt = e.DataType;
            if (dt == (int)DT.String)
            {
                var sa = TensorProtoData.GetStrings(a);
                var se = TensorProtoData.GetStrings(e);
                for (int i = 0; i < se.Count; i++)
                {
                    if (sa[i].Equals(se[i])) continue;
                    if (_reason is null) _worstFailing = new ElementDifference(name, i, sa[i].ToStringUtf8(), se[i].ToStringUtf8());
                    Fail($"Output '{name}' differs at element {i}: \"{sa[i].ToStringUtf8()}\" but \"{se[i].ToStringUtf8()}\" was expected.");
                    return;
                }
                return;
            }
            byte[] ba = TensorProtoData.GetBytes(a), be = TensorProtoData.GetBytes(e);
            long count = TensorProtoData.ElementCount(e);
            if (!ElementTypes.IsFloatingPoint(dt))
            {
                int size = ElementTypes.SizeOf(dt);
                for (long i = 0; i < count; i++)
                {
                    if (ba.AsSpan(checked((int)(i * size)), size).SequenceEqual(be.AsSpan(checked((int)(i * size)), size))) continue;
                    var diff = new ElementDifference(name, i, ElementTypes.Format(dt, ba, i), ElementTypes.Format(dt, be, i));
                    if (_reason is null) _worstFailing = diff;
                    Fail($"Output '{name}' differs at element {i}: {diff.Actual} but {diff.Expected} was expected.");
                    return;
                }
                return;
            }
            for (long i = 0; i < count; i++) Element(name, dt, ba, be, i);
        }

        private void Element(string name, int dt, byte[] ba, byte[] be, long i)
        {
            double a = ElementTypes.ReadAsDouble(dt, ba, i), e = ElementTypes.ReadAsDouble(dt, be, i);
            double abs, rel;
            bool ok;
            if (double.IsNaN(a) || double.IsNaN(e)) { ok = double.IsNaN(a) && double.IsNaN(e); abs = rel = ok ? 0 : double.PositiveInfinity; }
            else if (double.IsInfinity(a) || double.IsInfinity(e)) { ok = a == e; abs = rel = ok ? 0 : double.PositiveInfinity; }
            else
            {
                abs = Math.Abs(a - e);
                rel = abs == 0 ? 0 : e == 0 ? double.PositiveInfinity : abs / Math.Abs(e);
                ok = abs <= atol + rtol * Math.Abs(e);
            }
            _maxAbs = Math.Max(_maxAbs, abs);
            _maxRel = Math.Max(_maxRel, rel);
            if (abs > _worstAbs)
            {
                _worstAbs = abs;
                _largest = Diff(name, dt, ba, be, i);
            }
            if (ok) return;
            // How far past the allowed tolerance this element is (∞ for NaN/Inf mismatches).
            double allowed = atol + rtol * (double.IsFinite(e) ? Math.Abs(e) : 0);
            double excess = double.IsFinite(abs) ? abs - allowed : double.PositiveInfinity;
            if (_toleranceReason is null || excess > _worstExcess)
            {
                _worstExcess = excess;
                var diff = Diff(name, dt, ba, be, i);
                if (_reason is null) _worstFailing = diff; // an exact-match failure keeps its own element
                _toleranceReason = ($"Output '{name}' differs at element {i}: {diff.Actual} but {diff.Expected} was expected " +
                     $"(|a − e| = {abs:G4} > atol + rtol·|e| = {allowed:G4}).");
            }
        }

        private static ElementDifference Diff(string name, int dt, byte[] ba, byte[] be, long i) =>
            new(name, i, ElementTypes.Format(dt, ba, i), ElementTypes.Format(dt, be, i));

        private static string Kind(DataValue v) => v.Kind.ToString().ToLowerInvariant();
    }
}
