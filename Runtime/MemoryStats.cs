using System.Globalization;
using Microsoft.ML.OnnxRuntime;

namespace OnnxRev.Runtime;

/// <summary>ONNX Runtime arena statistics for one allocator (bytes unless noted).</summary>
/// <param name="InUse">Bytes currently handed out.</param>
/// <param name="MaxInUse">Peak bytes handed out at once.</param>
/// <param name="TotalAllocated">Bytes the arena has reserved from the system.</param>
/// <param name="NumAllocs">Number of allocations served (a count).</param>
/// <param name="Raw">Every key/value ONNX Runtime reported.</param>
public sealed record ArenaStats(long InUse, long MaxInUse, long TotalAllocated, long NumAllocs, IReadOnlyDictionary<string, string> Raw);

/// <summary>
/// Memory measurements: the process's resident set (Linux <c>/proc/self/status</c>) and ONNX Runtime's
/// CPU arena statistics for a session. Every method returns null where the number is not available.
/// </summary>
public static class MemoryStats
{
    /// <summary>Peak resident set size of this process in bytes (VmHWM), or null off Linux.</summary>
    public static long? PeakRssBytes() => ReadStatusKb("VmHWM:") * 1024;

    /// <summary>Current resident set size of this process in bytes (VmRSS), or null off Linux.</summary>
    public static long? CurrentRssBytes() => ReadStatusKb("VmRSS:") * 1024;

    /// <summary>
    /// Gives memory that native code freed (ONNX Runtime's session building, graph parsing) but the C allocator kept
    /// back to the system (glibc <c>malloc_trim</c>); true when it released something. A no-op (false) off Linux/glibc.
    /// </summary>
    public static bool TrimNativeHeap()
    {
        if (!OperatingSystem.IsLinux()) return false;
        try { return MallocTrim(0) != 0; }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { return false; }
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "malloc_trim")]
    private static extern int MallocTrim(nuint pad);

    /// <summary>
    /// Resets the peak RSS to the current RSS (writes 5 to <c>/proc/self/clear_refs</c>); false where not permitted.
    /// </summary>
    public static bool TryResetPeakRss()
    {
        try
        {
            File.WriteAllText("/proc/self/clear_refs", "5");
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException)
        {
            return false;
        }
    }

    /// <summary>
    /// Arena statistics of the CPU allocator of <paramref name="runner"/>'s session, or null when ONNX Runtime
    /// does not report them (no arena, e.g. a non-arena allocator, or a runtime older than API version 23).
    /// </summary>
    public static ArenaStats? CpuArenaStats(OrtRunner runner)
    {
        ArgumentNullException.ThrowIfNull(runner);
        using var memoryInfo = new OrtMemoryInfo(OrtMemoryInfo.allocatorCPU, OrtAllocatorType.ArenaAllocator, 0, OrtMemType.Default);
        OrtAllocator allocator;
        try
        {
            allocator = new OrtAllocator(runner.Session, memoryInfo);
        }
        catch (OnnxRuntimeException)
        {
            return null; // the session has no such allocator
        }
        using (allocator)
        {
            var raw = OrtAllocatorStats.Get(allocator);
            if (raw is null || !raw.ContainsKey("MaxInUse") || !raw.ContainsKey("TotalAllocated")) return null;
            return new ArenaStats(Number(raw, "InUse"), Number(raw, "MaxInUse"), Number(raw, "TotalAllocated"), Number(raw, "NumAllocs"), raw);
        }
    }

    private static long Number(IReadOnlyDictionary<string, string> raw, string key) =>
        raw.TryGetValue(key, out string? s) && long.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out long v) ? v : 0;

    private static long? ReadStatusKb(string key)
    {
        try
        {
            foreach (string line in File.ReadLines("/proc/self/status"))
            {
                if (!line.StartsWith(key, StringComparison.Ordinal)) continue;
                string[] parts = line[key.Length..].Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
                return parts.Length > 0 && long.TryParse(parts[0], NumberStyles.Integer, CultureInfo.InvariantCulture, out long kb) ? kb : null;
            }
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or DirectoryNotFoundException)
        {
            return null;
        }
    }
}
