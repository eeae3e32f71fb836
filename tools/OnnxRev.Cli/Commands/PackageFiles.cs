namespace OnnxRev.Cli.Commands;

/// <summary>Atomic writes of whole files (temp file beside the target, then rename) and output-path checks.</summary>
internal static class PackageFiles
{
    /// <summary>Fails (exit 2) unless <paramref name="outPath"/> can be written: not a folder, its folder exists.</summary>
    public static void CheckOutput(string outPath)
    {
        if (Directory.Exists(outPath)) throw new OnnxRevException($"output '{outPath}' is a folder; give a file name");
        string? dir = Path.GetDirectoryName(Path.GetFullPath(outPath));
        if (dir is null || !Directory.Exists(dir)) throw new OnnxRevException($"output folder '{dir}' does not exist");
    }

    /// <summary>Writes <paramref name="bytes"/> to <paramref name="path"/> atomically.</summary>
    public static void Write(string path, byte[] bytes)
    {
        string temp = path + $".tmp-{Environment.ProcessId}";
        try
        {
            File.WriteAllBytes(temp, bytes);
            File.Move(temp, path, overwrite: true);
        }
        finally { if (File.Exists(temp)) File.Delete(temp); }
    }

    /// <summary>The bytes of an input file; a missing or unreadable one is exit 2.</summary>
    public static byte[] Read(string path, string what)
    {
        if (!File.Exists(path)) throw new OnnxRevException($"{what} '{path}' does not exist");
        try { return File.ReadAllBytes(path); }
        catch (IOException e) { throw new OnnxRevException($"cannot read {what} '{path}': {e.Message}"); }
        catch (UnauthorizedAccessException e) { throw new OnnxRevException($"cannot read {what} '{path}': {e.Message}"); }
    }
}
