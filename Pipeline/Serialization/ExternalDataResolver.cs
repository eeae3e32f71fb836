using OnnxRev.Ir;
using OnnxRev.Schema;

namespace OnnxRev.Serialization;

/// <summary>
/// Resolves and checks the external_data entries of a tensor. A location must be a relative path
/// that stays inside the model's folder (no absolute paths, no "..", no symbolic link leading out);
/// anything else is refused before the file is opened.
/// </summary>
public static class ExternalDataResolver
{
    /// <summary>Resolves the location of an external tensor read from the model at <paramref name="modelPath"/>.</summary>
    public static ExternalDataLocation Resolve(TensorProto t, string? baseDirectory, string modelPath)
    {
        string? location = null;
        long offset = 0, length = -1;
        foreach (var e in t.ExternalData)
        {
            switch (e.Key)
            {
                case "location": location = e.Value; break;
                case "offset": offset = ParseNumber(e.Value, "offset", t, modelPath); break;
                case "length": length = ParseNumber(e.Value, "length", t, modelPath); break;
            }
        }
        if (string.IsNullOrEmpty(location))
            throw new OnnxRevException($"tensor '{t.Name}' in '{modelPath}' is marked external but names no location");
        if (baseDirectory is null)
            throw new OnnxRevException($"tensor '{t.Name}' keeps its data in external file '{location}', but the model was not read from a file, so there is no folder to find it in");
        string full = CheckInside(location, baseDirectory, $"tensor '{t.Name}' in '{modelPath}'");
        if (!File.Exists(full))
            throw new OnnxRevException($"external data file '{location}' of tensor '{t.Name}' not found next to '{modelPath}'");
        if (t.DataType == (int)TensorProto.Types.DataType.String)
            throw new OnnxRevException($"tensor '{t.Name}' in '{modelPath}' is a string tensor in external data, which ONNX does not allow");
        long expected = TensorEncoding.RawByteCount(t.DataType, TensorEncoding.ElementCount(t.Dims));
        if (length < 0) length = expected;
        else if (length != expected)
            throw new OnnxRevException($"external data of tensor '{t.Name}' in '{modelPath}' is {length} bytes but its shape and type need {expected}");
        long fileLength = new FileInfo(full).Length;
        if (offset < 0 || offset + length > fileLength)
            throw new OnnxRevException($"external data of tensor '{t.Name}' (offset {offset}, {length} bytes) lies beyond the end of '{location}' ({fileLength} bytes)");
        return new ExternalDataLocation(full, location, offset, length);
    }

    /// <summary>
    /// Returns the absolute path of <paramref name="location"/> under <paramref name="baseDirectory"/>,
    /// or throws when it is absolute, escapes the folder, or passes through a symbolic link that leads out.
    /// </summary>
    public static string CheckInside(string location, string baseDirectory, string what)
    {
        if (Path.IsPathRooted(location) || location.StartsWith('/') || location.StartsWith('\\') || (location.Length > 1 && location[1] == ':'))
            throw new OnnxRevException($"external data location '{location}' of {what} is an absolute path; only files inside the model's folder are allowed");
        string root = Path.GetFullPath(baseDirectory).TrimEnd(Path.DirectorySeparatorChar) + Path.DirectorySeparatorChar;
        string full = Path.GetFullPath(Path.Combine(root, location.Replace('\\', '/')));
        if (!full.StartsWith(root, StringComparison.Ordinal))
            throw new OnnxRevException($"external data location '{location}' of {what} escapes the model's folder; only files inside it are allowed");
        // A symbolic link anywhere on the way may point outside: follow each one and check again.
        string current = root;
        foreach (var part in full[root.Length..].Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries))
        {
            current = Path.Combine(current, part);
            FileSystemInfo info = Directory.Exists(current) ? new DirectoryInfo(current) : new FileInfo(current);
            if (info.LinkTarget is null) continue;
            var target = info.ResolveLinkTarget(returnFinalTarget: true);
            if (target is null || !Path.GetFullPath(target.FullName).StartsWith(root, StringComparison.Ordinal))
                throw new OnnxRevException($"external data location '{location}' of {what} is a symbolic link leading out of the model's folder; only files inside it are allowed");
        }
        return full;
    }

    private static long ParseNumber(string s, string key, TensorProto t, string modelPath) =>
        long.TryParse(s, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out long v)
            ? v
            : throw new OnnxRevException($"external data {key} '{s}' of tensor '{t.Name}' in '{modelPath}' is not a non-negative integer");
}
