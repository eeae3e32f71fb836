using OnnxRev.Passes.Quantization;

namespace OnnxRev.Tests.Passes.Quantization;

/// <summary>
/// GPTQ minimizes the layer's output error on its calibration inputs: ‖X·(W − Ŵ)‖² must come out below
/// round-to-nearest's on the same inputs (correlated inputs, as real activations are), and the factorization
/// behind it must be right: Uᵀ·U = H⁻¹.
/// </summary>
public class GptqTests
{
    [TestCase(96, 24, 32, false)]
    [TestCase(80, 10, 16, true)]
    public void BeatsRoundingOnTheCalibrationOutputs(int k, int n, int blockSize, bool symmetric)
    {
        var rng = new Random(3);
        const int rows = 400;
        // Correlated inputs: x = z·M with a random mixing matrix, plus one loud input.
        var m = Enumerable.Range(0, k * k).Select(_ => rng.NextDouble() * 2 - 1).ToArray();
        var x = new double[rows * k];
        for (int r = 0; r < rows; r++)
        {
            var z = Enumerable.Range(0, k).Select(_ => rng.NextDouble() * 2 - 1).ToArray();
            for (int j = 0; j < k; j++)
            {
                double s = 0;
                for (int i = 0; i < k; i++) s += z[i] * m[i * k + j] * (i < 4 ? 1 : 0.2);
                x[r * k + j] = s * (j == 5 ? 8 : 1);
            }
        }
        var h = new double[k * k];
        for (int r = 0; r < rows; r++)
            for (int i = 0; i < k; i++)
                for (int j = 0; j < k; j++) h[i * k + j] += x[r * k + i] * x[r * k + j];
        var w = Enumerable.Range(0, n * k).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();   // N rows of K

        double OutputError(BlockQuantized q)
        {
            var d = q.DequantizeKN();
            double e = 0;
            for (int r = 0; r < rows; r++)
                for (int c = 0; c < n; c++)
                {
                    double s = 0;
                    for (int i = 0; i < k; i++) s += x[r * k + i] * (w[c * k + i] - d[i * n + c]);
                    e += s * s;
                }
            return e;
        }
        double rtn = OutputError(BlockQuantizer.Quantize(w, n, k, blockSize, symmetric));
        double gptq = OutputError(Gptq.Quantize(w, n, k, blockSize, symmetric, h));
        var refined = Gptq.Quantize(w, n, k, blockSize, symmetric, h, sweeps: 8);
        double swept = OutputError(refined);
        TestContext.Out.WriteLine($"‖X(W − Ŵ)‖²: rounding {rtn:G4}, GPTQ {gptq:G4} ({gptq / rtn:P0}), GPTQ + 8 sweeps {swept:G4} ({swept / rtn:P0})");
        Assert.That(gptq, Is.LessThan(0.8 * rtn));
        Assert.That(swept, Is.LessThan(0.98 * gptq), "the coordinate sweeps lower GPTQ's own objective");
        Assert.That(refined.Scales.All(v => v > 0), Is.True);
        // Damping is part of the cached factor's key: a stronger one gives another result, the default one its own again.
        var damped = Gptq.Quantize(w, n, k, blockSize, symmetric, h, damping: 0.5);
        double dampedError = OutputError(damped);
        Assert.That(dampedError, Is.Not.EqualTo(gptq));
        Assert.That(OutputError(Gptq.Quantize(w, n, k, blockSize, symmetric, h)), Is.EqualTo(gptq));
        Assert.Throws<OnnxRevException>(() => Gptq.Quantize(w, n, k, blockSize, symmetric, h, damping: 0));
    }

    [Test]
    public void UpperCholeskyOfTheInverse()
    {
        const int k = 7;
        var rng = new Random(1);
        var a = Enumerable.Range(0, k * k).Select(_ => rng.NextDouble()).ToArray();
        var h = new double[k * k];
        for (int i = 0; i < k; i++)
            for (int j = 0; j < k; j++)
            {
                for (int m = 0; m < k; m++) h[i * k + j] += a[m * k + i] * a[m * k + j];
                if (i == j) h[i * k + j] += 0.1;
            }
        var u = Gptq.UpperCholeskyOfInverse(h, k);
        // H · (Uᵀ U) = I
        for (int i = 0; i < k; i++)
            for (int j = 0; j < k; j++)
            {
                double s = 0;
                for (int m = 0; m < k; m++)
                {
                    double inv = 0;
                    for (int t = 0; t < k; t++) inv += u[t * k + m] * u[t * k + j];
                    s += h[i * k + m] * inv;
                }
                Assert.That(s, Is.EqualTo(i == j ? 1 : 0).Within(1e-9));
            }
        for (int i = 0; i < k; i++)
            for (int j = 0; j < i; j++) Assert.That(u[i * k + j], Is.Zero, "upper triangular");
    }
}
