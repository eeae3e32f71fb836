using System.Text.Json;
using System.Text.Json.Nodes;
using Google.Protobuf;
using OnnxRev.Schema;

namespace OnnxRev.Runtime.Training;

/// <summary>
/// A training checkpoint: every parameter and optimizer-state tensor plus the position in the data
/// (step, epoch, batch) and the seed, so a resumed run continues exactly. Written atomically: into a
/// temporary folder beside the target, then swapped in by renames, so a crash at any moment leaves
/// either the previous checkpoint or the new one, never a mix.
/// </summary>
public sealed record Checkpoint(long Step, int Epoch, int Batch, int Seed, IReadOnlyDictionary<string, TensorProto> Tensors)
{
    private const string StateFile = "state.json";

    /// <summary>Writes the checkpoint to <paramref name="dir"/>, replacing any previous one.</summary>
    public void Save(string dir)
    {
        string full = Path.GetFullPath(dir);
        string parent = Path.GetDirectoryName(full)!;
        if (!Directory.Exists(parent)) throw new OnnxRevException($"checkpoint folder '{dir}': '{parent}' does not exist");
        string tmp = Path.Combine(parent, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
        Directory.CreateDirectory(tmp);
        try
        {
            var names = new JsonArray();
            int i = 0;
            foreach (var (name, t) in Tensors)
            {
                string file = $"tensor_{i++}.pb";
                using (var fs = new FileStream(Path.Combine(tmp, file), FileMode.CreateNew))
                {
                    t.WriteTo(fs);
                    fs.Flush(flushToDisk: true);
                }
                names.Add(new JsonObject { ["name"] = name, ["file"] = file });
            }
            var state = new JsonObject
            {
                ["format"] = 1, ["step"] = Step, ["epoch"] = Epoch, ["batch"] = Batch, ["seed"] = Seed, ["tensors"] = names,
            };
            File.WriteAllText(Path.Combine(tmp, StateFile), state.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
            string? old = null;
            if (Directory.Exists(full))
            {
                old = Path.Combine(parent, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.old");
                Directory.Move(full, old);
            }
            Directory.Move(tmp, full);
            if (old is not null) Directory.Delete(old, recursive: true);
        }
        catch
        {
            if (Directory.Exists(tmp)) Directory.Delete(tmp, recursive: true);
            throw;
        }
    }

    /// <summary>Reads a checkpoint; a clear error when the folder is missing or damaged.</summary>
    public static Checkpoint Load(string dir)
    {
        string stateFile = Path.Combine(dir, StateFile);
        if (!File.Exists(stateFile))
        {
            // A crash between the two renames of Save leaves the previous checkpoint as a hidden .old folder.
            string parent = Path.GetDirectoryName(Path.GetFullPath(dir))!;
            var old = Directory.Exists(parent) ? Directory.GetDirectories(parent, $".{Path.GetFileName(Path.GetFullPath(dir))}.*.old").FirstOrDefault() : null;
            if (old is null) throw new OnnxRevException($"no checkpoint to resume from in '{dir}' (no {StateFile})");
            dir = old;
            stateFile = Path.Combine(dir, StateFile);
        }
        try
        {
            var state = JsonNode.Parse(File.ReadAllText(stateFile))!.AsObject();
            if ((int)state["format"]! != 1) throw new OnnxRevException($"checkpoint '{dir}' has an unknown format");
            var tensors = new Dictionary<string, TensorProto>(StringComparer.Ordinal);
            foreach (var entry in state["tensors"]!.AsArray())
            {
                string name = (string)entry!["name"]!;
                tensors[name] = TensorProto.Parser.ParseFrom(File.ReadAllBytes(Path.Combine(dir, (string)entry["file"]!)));
            }
            return new Checkpoint((long)state["step"]!, (int)state["epoch"]!, (int)state["batch"]!, (int)state["seed"]!, tensors);
        }
        catch (Exception e) when (e is JsonException or IOException or InvalidProtocolBufferException or NullReferenceException or InvalidOperationException or FormatException)
        {
            throw new OnnxRevException($"checkpoint '{dir}' is damaged ({e.Message})", e);
        }
    }
}
