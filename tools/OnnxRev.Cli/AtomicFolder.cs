namespace OnnxRev.Cli;

/// <summary>
/// Writes a set of files into a folder so that a failure leaves nothing behind: files are written
/// into a hidden temporary folder beside the target and moved into place only on <see cref="Commit"/>.
/// </summary>
internal sealed class AtomicFolder : IDisposable
{
    private readonly string _target;
    private bool _committed;

    /// <summary>Prepares a temporary folder beside <paramref name="target"/>.</summary>
    public AtomicFolder(string target)
    {
        _target = Path.GetFullPath(target);
        if (File.Exists(_target)) throw new OnnxRevException($"output folder '{target}' is a file");
        string parent = Path.GetDirectoryName(_target)!;
        if (!Directory.Exists(parent)) throw new OnnxRevException($"cannot create output folder '{target}': '{parent}' does not exist");
        Staging = Path.Combine(parent, $".{Path.GetFileName(_target)}.{Guid.NewGuid():N}.tmp");
        Directory.CreateDirectory(Staging);
    }

    /// <summary>Where to write the files.</summary>
    public string Staging { get; }

    /// <summary>Moves every staged file into the target folder (created if needed), each by an atomic rename.</summary>
    public void Commit()
    {
        Directory.CreateDirectory(_target);
        foreach (var f in Directory.GetFiles(Staging))
            File.Move(f, Path.Combine(_target, Path.GetFileName(f)), overwrite: true);
        foreach (var d in Directory.GetDirectories(Staging))
        {
            string dest = Path.Combine(_target, Path.GetFileName(d));
            if (Directory.Exists(dest)) Directory.Delete(dest, recursive: true);
            Directory.Move(d, dest);
        }
        _committed = true;
        Directory.Delete(Staging, recursive: true);
    }

    /// <summary>Removes the staging folder if the files were never committed.</summary>
    public void Dispose()
    {
        if (!_committed && Directory.Exists(Staging)) Directory.Delete(Staging, recursive: true);
    }
}
