namespace OnnxRev.Passes;

/// <summary>One registered pass: its command-line name, a one-line description, and how to make it.</summary>
public sealed record PassInfo(string Name, string Description, Func<IPass> Create);

/// <summary>
/// The passes <c>onnxrev optimize --passes</c> knows, registered explicitly in one place.
/// Issues building on the foundation add their passes here.
/// </summary>
public static class PassRegistry
{
    private static readonly List<PassInfo> Registered = new();

    /// <summary>Every registered pass, in registration order.</summary>
    public static IReadOnlyList<PassInfo> All => Registered;

    /// <summary>Registers a pass (names must be unique).</summary>
    public static void Register(PassInfo info)
    {
        if (Registered.Any(p => p.Name == info.Name)) throw new InvalidOperationException($"pass '{info.Name}' registered twice");
        Registered.Add(info);
    }

    /// <summary>Creates the pass called <paramref name="name"/>, or throws an error listing the known names.</summary>
    public static IPass Create(string name)
    {
        var info = Registered.FirstOrDefault(p => p.Name == name)
            ?? throw new OnnxRevException($"unknown pass '{name}'; known passes: {string.Join(", ", Registered.Select(p => p.Name))}");
        return info.Create();
    }
}
