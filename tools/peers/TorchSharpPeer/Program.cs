// Benchmark peer for OnnxRev's training: the same pre-LN residual MLP, loss, optimizer, batch and thread
// count as the ORT training graph, trained in TorchSharp (libtorch CPU), timed per step.
//
//   h = Linear_in(x)                                   64 -> W
//   for each of D blocks: h = h + Linear2(GELU(Linear1(LayerNorm(h))))   W -> 2W -> W
//   logits = Linear_out(h)                             W -> 10
//   loss = mean softmax cross-entropy; AdamW lr 1e-3, betas (0.9, 0.999), eps 1e-8, weight_decay 0.01
//
// A step is zero_grad + forward + loss + backward + optimizer step. Build and run: tools/peers/torchsharp/build.sh.
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using OnnxRev.Peers;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

const int Features = 64, Classes = 10;

Options o;
try { o = Options.Parse(args); }
catch (ArgumentException e)
{
    Console.Error.WriteLine($"TorchSharpPeer: {e.Message}");
    Console.Error.WriteLine(Options.Usage);
    return 2;
}
if (o.Help) { Console.WriteLine(Options.Usage); return 0; }

torch.set_num_threads(o.Threads);
torch.manual_seed(o.Seed); // nothing here draws from torch's generator; set for completeness

var model = new ResidualMlp(Features, o.Width, o.Depth, Classes);
model.Initialize(new SplitMix64((ulong)o.Seed));
long parameterCount = model.parameters().Sum(p => p.numel());

// The batches: seeded random (one fixed batch, as a benchmark that also shows the loss falling), or
// consecutive batches of the given files, cycled.
var batches = new List<(Tensor X, Tensor Y)>();
if (o.Inputs is null)
{
    var (x, y) = SeededValues.Batch(new SplitMix64((ulong)o.Seed + 1), o.Batch, Features, Classes);
    batches.Add((torch.tensor(x, new long[] { o.Batch, Features }), torch.tensor(y, new long[] { o.Batch })));
}
else
{
    float[] xs = ReadRaw<float>(o.Inputs);
    long[] ys = ReadRaw<long>(o.Labels!);
    if (xs.Length % Features != 0) throw new InvalidDataException($"{o.Inputs}: {xs.Length} floats is not a multiple of {Features}");
    long n = xs.Length / Features;
    if (ys.Length != n) throw new InvalidDataException($"{o.Labels}: {ys.Length} labels for {n} input rows");
    if (ys.Any(c => c < 0 || c >= Classes)) throw new InvalidDataException($"{o.Labels}: a label outside [0, {Classes})");
    if (n < o.Batch) throw new InvalidDataException($"{n} samples, fewer than one batch of {o.Batch}");
    for (long b = 0; b + o.Batch <= n; b += o.Batch)
        batches.Add((torch.tensor(xs.AsSpan((int)(b * Features), o.Batch * Features).ToArray(), new long[] { o.Batch, Features }),
                     torch.tensor(ys.AsSpan((int)b, o.Batch).ToArray(), new long[] { o.Batch })));
}

var optimizer = torch.optim.AdamW(model.parameters(), lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.01);
model.train();

var stepSeconds = new double[o.Steps];
float firstLoss = float.NaN, lastLoss = float.NaN;
for (int s = 0; s < o.Warmup + o.Steps; s++)
{
    var (x, y) = batches[s % batches.Count];
    long t0 = Stopwatch.GetTimestamp();
    float lossValue;
    using (torch.NewDisposeScope())
    {
        optimizer.zero_grad();
        using var logits = model.forward(x);
        using var loss = nn.functional.cross_entropy(logits, y);
        loss.backward();
        optimizer.step();
        long t1 = Stopwatch.GetTimestamp();
        if (s >= o.Warmup) stepSeconds[s - o.Warmup] = Stopwatch.GetElapsedTime(t0, t1).TotalSeconds;
        lossValue = loss.item<float>(); // read outside the timed span (CPU: nothing is pending)
    }
    if (s == 0) firstLoss = lossValue;
    lastLoss = lossValue;
}

var sorted = stepSeconds.Order().ToArray();
double median = sorted.Length == 0 ? double.NaN
    : sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
double mean = sorted.Length == 0 ? double.NaN : sorted.Average();
long peakRss = ProcStatusBytes("VmHWM:"), rss = ProcStatusBytes("VmRSS:");

if (o.Json)
{
    using var stdout = Console.OpenStandardOutput();
    using var w = new Utf8JsonWriter(stdout, new JsonWriterOptions { Indented = true });
    w.WriteStartObject();
    w.WriteString("peer", "torchsharp");
    w.WriteString("torchsharp_version", typeof(torch).Assembly.GetName().Version?.ToString());
    w.WriteNumber("depth", o.Depth);
    w.WriteNumber("width", o.Width);
    w.WriteNumber("batch", o.Batch);
    w.WriteNumber("threads", o.Threads);
    w.WriteNumber("torch_num_threads", torch.get_num_threads());
    w.WriteNumber("steps", o.Steps);
    w.WriteNumber("warmup", o.Warmup);
    w.WriteNumber("seed", o.Seed);
    w.WriteString("data", o.Inputs is null ? "seeded-random" : o.Inputs);
    w.WriteNumber("parameters", parameterCount);
    w.WriteNumber("median_step_s", median);
    w.WriteNumber("mean_step_s", mean);
    w.WriteNumber("min_step_s", sorted.Length == 0 ? double.NaN : sorted[0]);
    w.WriteNumber("max_step_s", sorted.Length == 0 ? double.NaN : sorted[^1]);
    w.WriteNumber("first_loss", firstLoss);
    w.WriteNumber("last_loss", lastLoss);
    w.WriteNumber("peak_rss_bytes", peakRss);
    w.WriteNumber("rss_bytes", rss);
    w.WriteStartArray("step_s");
    foreach (double t in stepSeconds) w.WriteNumberValue(t);
    w.WriteEndArray();
    w.WriteEndObject();
    w.Flush();
    stdout.WriteByte((byte)'\n');
}
else
{
    var c = CultureInfo.InvariantCulture;
    Console.WriteLine(string.Format(c, "TorchSharp {0}: depth {1} width {2} batch {3} threads {4} ({5} parameters)",
        typeof(torch).Assembly.GetName().Version, o.Depth, o.Width, o.Batch, o.Threads, parameterCount));
    Console.WriteLine(string.Format(c, "{0} steps after {1} warm-up: median {2:F4} s, mean {3:F4} s, min {4:F4} s, max {5:F4} s",
        o.Steps, o.Warmup, median, mean, sorted.FirstOrDefault(double.NaN), sorted.LastOrDefault(double.NaN)));
    Console.WriteLine(string.Format(c, "loss {0:F4} -> {1:F4}; peak RSS {2:F1} MB", firstLoss, lastLoss, peakRss / 1e6));
}
return 0;

static T[] ReadRaw<T>(string path) where T : unmanaged
{
    byte[] bytes = File.ReadAllBytes(path);
    int size = System.Runtime.InteropServices.Marshal.SizeOf<T>();
    if (bytes.Length % size != 0) throw new InvalidDataException($"{path}: {bytes.Length} bytes is not a multiple of {size}");
    if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("raw files are little-endian");
    return System.Runtime.InteropServices.MemoryMarshal.Cast<byte, T>(bytes).ToArray();
}

// VmHWM / VmRSS of /proc/self/status, in bytes (-1 where unreadable).
static long ProcStatusBytes(string key)
{
    try
    {
        foreach (string line in File.ReadLines("/proc/self/status"))
            if (line.StartsWith(key, StringComparison.Ordinal))
                return long.Parse(line[key.Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024;
    }
    catch (IOException) { }
    return -1;
}

/// <summary>The pre-LN residual MLP.</summary>
sealed class ResidualMlp : nn.Module<Tensor, Tensor>
{
    private readonly Linear input;
    private readonly ModuleList<Block> blocks;
    private readonly Linear output;

    public ResidualMlp(int features, int width, int depth, int classes) : base(nameof(ResidualMlp))
    {
        input = nn.Linear(features, width);
        blocks = new ModuleList<Block>(Enumerable.Range(0, depth).Select(_ => new Block(width)).ToArray());
        output = nn.Linear(width, classes);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        Tensor h = input.forward(x);
        foreach (var b in blocks) h = b.forward(h);
        return output.forward(h);
    }

    /// <summary>Sets every parameter from <paramref name="rng"/> in <see cref="SeededValues"/>' order.</summary>
    public void Initialize(SplitMix64 rng)
    {
        Set(input, rng);
        foreach (var b in blocks)
        {
            using (torch.no_grad())
            {
                b.Norm.weight!.fill_(1.0f);
                b.Norm.bias!.zero_();
            }
            Set(b.Up, rng);
            Set(b.Down, rng);
        }
        Set(output, rng);
    }

    private static void Set(Linear l, SplitMix64 rng)
    {
        int outF = (int)l.weight!.shape[0], inF = (int)l.weight.shape[1];
        var (w, bias) = SeededValues.Linear(rng, inF, outF);
        using (torch.no_grad())
        {
            using var wt = torch.tensor(w, new long[] { outF, inF });
            using var bt = torch.tensor(bias, new long[] { outF });
            l.weight.copy_(wt);
            l.bias!.copy_(bt);
        }
    }

    /// <summary>h + Linear2(GELU(Linear1(LayerNorm(h)))), GELU exact (erf), LayerNorm eps 1e-5.</summary>
    public sealed class Block : nn.Module<Tensor, Tensor>
    {
        public readonly LayerNorm Norm;
        public readonly Linear Up;
        public readonly Linear Down;

        public Block(int width) : base(nameof(Block))
        {
            Norm = nn.LayerNorm(width);
            Up = nn.Linear(width, 2 * width);
            Down = nn.Linear(2 * width, width);
            RegisterComponents();
        }

        public override Tensor forward(Tensor h)
        {
            using var n = Norm.forward(h);
            using var u = Up.forward(n);
            using var g = nn.functional.gelu(u);
            using var d = Down.forward(g);
            return h + d;
        }
    }
}

sealed record Options
{
    public const string Usage =
        "usage: TorchSharpPeer [--depth D] [--width W] [--batch B] [--threads T] [--steps S] [--warmup K] [--seed N]\n" +
        "                      [--inputs X.f32 --labels Y.i64] [--json]\n" +
        "  defaults: depth 8, width 64, batch 64, threads 2, steps 50, warmup 5, seed 1\n" +
        "  --inputs: raw little-endian float32 [N, 64]; --labels: raw little-endian int64 [N] in [0, 10);\n" +
        "  consecutive batches of B rows are cycled. Without them: one seeded random batch.";

    public int Depth { get; private init; } = 8;
    public int Width { get; private init; } = 64;
    public int Batch { get; private init; } = 64;
    public int Threads { get; private init; } = 2;
    public int Steps { get; private init; } = 50;
    public int Warmup { get; private init; } = 5;
    public long Seed { get; private init; } = 1;
    public string? Inputs { get; private init; }
    public string? Labels { get; private init; }
    public bool Json { get; private init; }
    public bool Help { get; private init; }

    public static Options Parse(string[] args)
    {
        var o = new Options();
        for (int i = 0; i < args.Length; i++)
        {
            string a = args[i];
            string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{a} needs a value");
            int Positive() => int.TryParse(Value(), NumberStyles.None, CultureInfo.InvariantCulture, out int v) && v > 0
                ? v : throw new ArgumentException($"{a} needs a positive integer");
            o = a switch
            {
                "--depth" => o with { Depth = int.TryParse(Value(), NumberStyles.None, CultureInfo.InvariantCulture, out int d) ? d : throw new ArgumentException("--depth needs an integer >= 0") },
                "--width" => o with { Width = Positive() },
                "--batch" => o with { Batch = Positive() },
                "--threads" => o with { Threads = Positive() },
                "--steps" => o with { Steps = Positive() },
                "--warmup" => o with { Warmup = int.TryParse(Value(), NumberStyles.None, CultureInfo.InvariantCulture, out int k) ? k : throw new ArgumentException("--warmup needs an integer >= 0") },
                "--seed" => o with { Seed = long.TryParse(Value(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long s) ? s : throw new ArgumentException("--seed needs an integer") },
                "--inputs" => o with { Inputs = Value() },
                "--labels" => o with { Labels = Value() },
                "--json" => o with { Json = true },
                "-h" or "--help" => o with { Help = true },
                _ => throw new ArgumentException($"unknown argument {a}"),
            };
        }
        if ((o.Inputs is null) != (o.Labels is null)) throw new ArgumentException("--inputs and --labels go together");
        return o;
    }
}
