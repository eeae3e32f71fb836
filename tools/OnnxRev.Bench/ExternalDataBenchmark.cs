using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Google.Protobuf;
using OnnxRev.Schema;

namespace OnnxRev.Bench;

/// <summary>
/// Generates an ONNX model with N bytes of external data (a chain of MatMuls with random float
/// weights, streamed to disk, never held in memory), converts it with the real CLI
/// (`onnxrev optimize --passes cleanup`) in a child process, and reports the child's peak resident
/// memory against N, plus a check that every weight byte arrived unchanged.
/// </summary>
internal static class ExternalDataBenchmark
{
    public static int Run(double gigabytes, string dir, bool keep)
    {
        Directory.CreateDirectory(dir);
        string src = Path.Combine(dir, "source");
        string dst = Path.Combine(dir, "converted");
        Directory.CreateDirectory(src);
        Directory.CreateDirectory(dst);
        try
        {
            const int Side = 4096; // each weight 4096×4096 float32 = 64 MiB
            long tensorBytes = 4L * Side * Side;
            int count = (int)Math.Ceiling(gigabytes * 1e9 / tensorBytes);
            string modelPath = Path.Combine(src, "big.onnx");
            var sw = Stopwatch.StartNew();
            string sourceHash = Generate(modelPath, count, Side);
            long modelBytes = new FileInfo(modelPath).Length + new FileInfo(modelPath + ".data").Length;
            Console.Error.WriteLine($"generated {modelBytes / 1e9:F2} GB ({count} tensors) in {sw.Elapsed.TotalSeconds:F1} s");

            string cli = Path.Combine(AppContext.BaseDirectory, "onnxrev.dll");
            string outPath = Path.Combine(dst, "big.onnx");
            sw.Restart();
            var (code, stdout, stderr) = RunChild("dotnet", cli, "optimize", modelPath, "-o", outPath, "--passes", "cleanup", "--json");
            double seconds = sw.Elapsed.TotalSeconds;
            if (code != 0) { Console.Error.WriteLine(stderr); return code; }
            var json = JsonNode.Parse(stdout)!.AsObject();
            long peak = (long)json["peak_rss_bytes"]!;
            string convertedHash = HashFile(outPath + ".data", count, tensorBytes);
            bool same = convertedHash == sourceHash;
            var result = new JsonObject
            {
                ["model_bytes"] = modelBytes,
                ["tensors"] = count,
                ["convert_seconds"] = Math.Round(seconds, 2),
                ["peak_rss_bytes"] = peak,
                ["peak_rss_over_model_bytes"] = Math.Round((double)peak / modelBytes, 4),
                ["goal_max_ratio"] = 1.5,
                ["weights_identical"] = same,
            };
            Console.WriteLine(result.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }));
            Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {modelBytes / 1e9:F2} GB | {peak / 1e6:F0} MB | {(double)peak / modelBytes:F3} | {seconds:F1} s | {(same ? "identical" : "DIFFERENT")} |"));
            return same && peak <= 1.5 * modelBytes ? 0 : 1;
        }
        finally
        {
            if (!keep) Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>Writes the model and its data file; returns a hash of the tensor bytes.</summary>
    private static string Generate(string modelPath, int count, int side)
    {
        long tensorBytes = 4L * side * side;
        var graph = new GraphProto { Name = "external_data_benchmark" };
        graph.Input.Add(Info("x", 1, side));
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var rng = new Random(1234);
        var chunk = new byte[1 << 20];
        using (var data = new FileStream(modelPath + ".data", FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20))
        {
            string prev = "x";
            for (int i = 0; i < count; i++)
            {
                long offset = data.Position;
                for (long written = 0; written < tensorBytes; written += chunk.Length)
                {
                    // Small random floats (bit patterns of uniform values in ±1/side) so the chain stays finite.
                    var floats = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(chunk.AsSpan());
                    for (int k = 0; k < floats.Length; k++) floats[k] = (float)(rng.NextDouble() - 0.5) / side;
                    data.Write(chunk);
                    hash.AppendData(chunk);
                }
                var t = new TensorProto { Name = $"w{i}", DataType = (int)TensorProto.Types.DataType.Float, DataLocation = TensorProto.Types.DataLocation.External };
                t.Dims.Add(side); t.Dims.Add(side);
                t.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = "big.onnx.data" });
                t.ExternalData.Add(new StringStringEntryProto { Key = "offset", Value = offset.ToString(CultureInfo.InvariantCulture) });
                t.ExternalData.Add(new StringStringEntryProto { Key = "length", Value = tensorBytes.ToString(CultureInfo.InvariantCulture) });
                graph.Initializer.Add(t);
                string y = i == count - 1 ? "y" : $"h{i}";
                graph.Node.Add(new NodeProto { OpType = "MatMul", Name = $"matmul{i}", Input = { prev, $"w{i}" }, Output = { y } });
                prev = y;
            }
        }
        graph.Output.Add(Info("y", 1, side));
        var model = new ModelProto { IrVersion = 8, ProducerName = "onnxrev-bench", Graph = graph };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 17 });
        File.WriteAllBytes(modelPath, model.ToByteArray());
        return Convert.ToHexString(hash.GetHashAndReset());
    }

    /// <summary>Hashes the tensors of a converted data file in model order (the writer may pad between them).</summary>
    private static string HashFile(string path, int count, long tensorBytes)
    {
        var model = ModelProto.Parser.ParseFrom(File.ReadAllBytes(path[..^".data".Length]));
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
        var chunk = new byte[1 << 20];
        foreach (var t in model.Graph.Initializer)
        {
            long offset = long.Parse(t.ExternalData.First(e => e.Key == "offset").Value, CultureInfo.InvariantCulture);
            fs.Seek(offset, SeekOrigin.Begin);
            for (long read = 0; read < tensorBytes; read += chunk.Length)
            {
                fs.ReadExactly(chunk);
                hash.AppendData(chunk);
            }
        }
        if (model.Graph.Initializer.Count != count) return "tensor count changed";
        return Convert.ToHexString(hash.GetHashAndReset());
    }

    private static ValueInfoProto Info(string name, params long[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (var d in dims) shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = d });
        return new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = 1, Shape = shape } } };
    }

    private static (int Code, string Stdout, string Stderr) RunChild(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync();
        string stdout = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, stdout, err.Result);
    }
}
