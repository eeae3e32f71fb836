using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntime;

namespace OnnxRev.Runtime;

/// <summary>
/// Reads ONNX Runtime allocator statistics through the C API function <c>AllocatorGetStats</c>
/// (API version 23+). The managed <see cref="OrtAllocator"/> of Microsoft.ML.OnnxRuntime 1.31 does not wrap
/// it, so this calls it through the function table returned by <c>OrtGetApiBase()->GetApi</c>, whose layout
/// is the package's own public <see cref="OrtApi"/> struct.
/// </summary>
internal static unsafe class OrtAllocatorStats
{
    private const uint RequiredApiVersion = 23;
    private static readonly Lazy<OrtApi?> Api = new(LoadApi);

    /// <summary>The statistics as key/value pairs, or null where ONNX Runtime cannot report them.</summary>
    public static IReadOnlyDictionary<string, string>? Get(OrtAllocator allocator)
    {
        if (Api.Value is not { } api || api.AllocatorGetStats == IntPtr.Zero) return null;
        var getStats = (delegate* unmanaged<IntPtr, IntPtr*, IntPtr>)api.AllocatorGetStats;
        var releaseStatus = (delegate* unmanaged<IntPtr, void>)api.ReleaseStatus;
        var getPairs = (delegate* unmanaged<IntPtr, IntPtr*, IntPtr*, nuint*, void>)api.GetKeyValuePairs;
        var releasePairs = (delegate* unmanaged<IntPtr, void>)api.ReleaseKeyValuePairs;

        bool added = false;
        try
        {
            allocator.DangerousAddRef(ref added);
            IntPtr pairs = IntPtr.Zero;
            IntPtr status = getStats(allocator.DangerousGetHandle(), &pairs);
            if (status != IntPtr.Zero)
            {
                releaseStatus(status); // e.g. not implemented for this allocator
                return null;
            }
            if (pairs == IntPtr.Zero) return null;
            try
            {
                IntPtr keys, values;
                nuint count;
                getPairs(pairs, &keys, &values, &count);
                var result = new Dictionary<string, string>();
                for (int i = 0; i < (int)count; i++)
                {
                    string? key = Marshal.PtrToStringUTF8(Marshal.ReadIntPtr(keys, i * IntPtr.Size));
                    string? value = Marshal.PtrToStringUTF8(Marshal.ReadIntPtr(values, i * IntPtr.Size));
                    if (key is not null) result[key] = value ?? "";
                }
                return result;
            }
            finally
            {
                releasePairs(pairs);
            }
        }
        finally
        {
            if (added) allocator.DangerousRelease();
        }
    }

    private static OrtApi? LoadApi()
    {
        // Make sure the managed package has loaded (and resolved) the native library first.
        _ = OrtEnv.Instance();
        if (!NativeLibrary.TryLoad("onnxruntime", typeof(OrtEnv).Assembly, null, out IntPtr library)) return null;
        if (!NativeLibrary.TryGetExport(library, "OrtGetApiBase", out IntPtr getApiBase)) return null;
        var apiBase = ((delegate* unmanaged<IntPtr>)getApiBase)();
        if (apiBase == IntPtr.Zero) return null;
        var baseStruct = Marshal.PtrToStructure<OrtApiBase>(apiBase);
        IntPtr apiPtr = ((delegate* unmanaged<uint, IntPtr>)baseStruct.GetApi)(RequiredApiVersion);
        return apiPtr == IntPtr.Zero ? null : Marshal.PtrToStructure<OrtApi>(apiPtr);
    }
}
