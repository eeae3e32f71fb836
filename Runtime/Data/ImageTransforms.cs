namespace OnnxRev.Runtime.Data;

/// <summary>Image preparation for pretrained vision models: resizing and channel layout (CHW, row-major).</summary>
public static class ImageTransforms
{
    /// <summary>
    /// Bilinear resize of one channel from <paramref name="height"/>×<paramref name="width"/> to
    /// <paramref name="outHeight"/>×<paramref name="outWidth"/> with half-pixel centres (as PyTorch's
    /// <c>interpolate(mode="bilinear", align_corners=False)</c> and ONNX Resize's <c>half_pixel</c>; no antialiasing),
    /// source coordinates clamped to the image, every output multiplied by <paramref name="scale"/>.
    /// </summary>
    public static void ResizeBilinear(ReadOnlySpan<float> source, int height, int width, Span<float> destination, int outHeight, int outWidth, float scale = 1f)
    {
        if (height <= 0 || width <= 0 || outHeight <= 0 || outWidth <= 0) throw new ArgumentException("image sizes must be positive");
        if (source.Length != height * width) throw new ArgumentException($"the source holds {source.Length} values, not {height}×{width}", nameof(source));
        if (destination.Length != outHeight * outWidth) throw new ArgumentException($"the destination holds {destination.Length} values, not {outHeight}×{outWidth}", nameof(destination));
        Span<int> x0 = outWidth <= 1024 ? stackalloc int[outWidth] : new int[outWidth];
        Span<float> fx = outWidth <= 1024 ? stackalloc float[outWidth] : new float[outWidth];
        for (int x = 0; x < outWidth; x++) (x0[x], fx[x]) = Coordinate(x, width, outWidth);
        for (int y = 0; y < outHeight; y++)
        {
            var (y0, fy) = Coordinate(y, height, outHeight);
            int y1 = Math.Min(y0 + 1, height - 1);
            var top = source.Slice(y0 * width, width);
            var bottom = source.Slice(y1 * width, width);
            var row = destination.Slice(y * outWidth, outWidth);
            for (int x = 0; x < outWidth; x++)
            {
                int a = x0[x], b = Math.Min(a + 1, width - 1);
                float t = top[a] + (top[b] - top[a]) * fx[x];
                float u = bottom[a] + (bottom[b] - bottom[a]) * fx[x];
                row[x] = (t + (u - t) * fy) * scale;
            }
        }
    }

    /// <summary>
    /// A grey image resized (bilinear, see <see cref="ResizeBilinear"/>) to <paramref name="size"/>×<paramref name="size"/>,
    /// multiplied by <paramref name="scale"/> and repeated into <paramref name="channels"/> channels (CHW), as an
    /// RGB model expects: e.g. Fashion-MNIST's 28×28 values in [0,1] to [3,224,224] pixel values 0–255.
    /// </summary>
    public static void GreyToChannels(ReadOnlySpan<float> grey, int height, int width, Span<float> destination, int size, float scale, int channels = 3)
    {
        int plane = size * size;
        if (destination.Length != channels * plane) throw new ArgumentException($"the destination holds {destination.Length} values, not {channels}×{size}×{size}", nameof(destination));
        var first = destination[..plane];
        ResizeBilinear(grey, height, width, first, size, size, scale);
        for (int c = 1; c < channels; c++) first.CopyTo(destination.Slice(c * plane, plane));
    }

    private static (int Index, float Fraction) Coordinate(int o, int inSize, int outSize)
    {
        double s = (o + 0.5) * inSize / outSize - 0.5;
        if (s <= 0) return (0, 0f);
        if (s >= inSize - 1) return (inSize - 1, 0f);
        int i = (int)Math.Floor(s);
        return (i, (float)(s - i));
    }
}
