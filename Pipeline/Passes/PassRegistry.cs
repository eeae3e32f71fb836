namespace OnnxRev.Passes;

/// <summary>One registered pass: its command-line name, a one-line description, the options it accepts, and how to make it from them.</summary>
public sealed record PassInfo(string Name, string Description, Func<PassOptions, IPass> Create, IReadOnlyList<PassOptionSpec> Options)
{
    /// <summary>A pass without options.</summary>
    public PassInfo(string name, string description, Func<IPass> create) : this(name, description, _ => create(), Array.Empty<PassOptionSpec>()) { }
}

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

    /// <summary>The pass called <paramref name="name"/>, or an error listing the known names.</summary>
    public static PassInfo Find(string name) =>
        Registered.FirstOrDefault(p => p.Name == name)
        ?? throw new OnnxRevException($"unknown pass '{name}'; known passes: {string.Join(", ", Registered.Select(p => p.Name))}");

    /// <summary>Creates the pass called <paramref name="name"/> with <paramref name="options"/> (defaults when null).</summary>
    public static IPass Create(string name, PassOptions? options = null) => Find(name).Create(options ?? PassOptions.Empty);

    /// <summary>The first of <paramref name="given"/> that none of <paramref name="passes"/> declares, or null.</summary>
    public static string? Unclaimed(IEnumerable<PassInfo> passes, IEnumerable<string> given) =>
        given.FirstOrDefault(name => !passes.Any(p => p.Options.Any(o => o.Name == name)));

    /// <summary>Creates <paramref name="info"/>'s pass with those of <paramref name="given"/> it declares (the rest belong to other passes).</summary>
    public static IPass Create(PassInfo info, PassOptions given) =>
        info.Create(new PassOptions(info.Options.Where(o => given.Has(o.Name)).ToDictionary(o => o.Name, o => given.Get(o.Name))));

    /// <summary>Every option any registered pass accepts, each name once.</summary>
    public static IReadOnlyList<PassOptionSpec> AllOptions =>
        Registered.SelectMany(p => p.Options).GroupBy(o => o.Name).Select(g => g.First()).ToList();
}
