namespace OnnxRev.Passes;

/// <summary>
/// ONNX Slice along one axis, as the operator spec defines it: negative starts/ends count from the end;
/// with a positive step both are clamped to [0, length]; with a negative step the start is clamped to
/// [0, length − 1] and the end to [−1, length − 1]. Shared by shape inference, constant folding and the
/// Slice gradient so the three agree.
/// </summary>
public static class SliceRange
{
    /// <summary>The first index taken and how many elements are taken (step must not be 0).</summary>
    public static (long First, long Count) Of(long length, long start, long end, long step)
    {
        if (step == 0) throw new ArgumentOutOfRangeException(nameof(step), "slice step 0");
        if (start < 0) start += length;
        if (end < 0) end += length;
        if (step > 0)
        {
            start = Math.Clamp(start, 0, length);
            end = Math.Clamp(end, 0, length);
            return (start, end > start ? (end - start - 1) / step + 1 : 0);
        }
        start = Math.Clamp(start, 0, length - 1);
        end = Math.Clamp(end, -1, length - 1);
        long magnitude = step == long.MinValue ? long.MaxValue : -step;
        return (start, start > end ? (start - end - 1) / magnitude + 1 : 0);
    }
}
