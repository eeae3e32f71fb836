using System.Globalization;

namespace OnnxRev.Cli;

/// <summary>A command-line option: its long name, an optional short alias, whether it takes a value, and its help line (none when <paramref name="Hidden"/>: internal options the tool passes to itself).</summary>
internal sealed record OptionSpec(string Name, string Help, bool TakesValue = true, string? Alias = null, string ValueName = "VALUE", bool Hidden = false);

/// <summary>A mistake on the command line (unknown option, missing value): exit code 2 with a hint to --help.</summary>
internal sealed class UsageException(string message) : OnnxRevException(message);

/// <summary>Parsed arguments of one command: positionals and options, with typed accessors that name the option at fault.</summary>
internal sealed class Args
{
    private readonly Dictionary<string, string?> _values = new(StringComparer.Ordinal);
    private readonly string _command;

    private Args(string command) => _command = command;

    /// <summary>Positional arguments in order.</summary>
    public List<string> Positionals { get; } = new();

    /// <summary>Parses <paramref name="argv"/> against the command's options; --json, --verbose and --help are always accepted.</summary>
    public static Args Parse(string command, IReadOnlyList<string> argv, IReadOnlyList<OptionSpec> specs)
    {
        var all = specs.Concat(Common).ToList();
        var args = new Args(command);
        for (int i = 0; i < argv.Count; i++)
        {
            string a = argv[i];
            if (a == "--") { args.Positionals.AddRange(argv.Skip(i + 1)); break; }
            if (!a.StartsWith('-') || a == "-") { args.Positionals.Add(a); continue; }
            string name = a;
            string? inline = null;
            int eq = a.IndexOf('=');
            if (a.StartsWith("--") && eq > 0) { name = a[..eq]; inline = a[(eq + 1)..]; }
            var spec = all.FirstOrDefault(s => "--" + s.Name == name || (s.Alias is not null && "-" + s.Alias == name))
                ?? throw new UsageException($"unknown option '{name}' for 'onnxrev {command}'; see 'onnxrev {command} --help'");
            if (!spec.TakesValue)
            {
                if (inline is not null) throw new UsageException($"option '--{spec.Name}' takes no value");
                args._values[spec.Name] = null;
                continue;
            }
            string? value = inline;
            if (value is null)
            {
                if (i + 1 >= argv.Count) throw new UsageException($"option '--{spec.Name}' needs a value ({spec.ValueName})");
                value = argv[++i];
            }
            args._values[spec.Name] = value;
        }
        return args;
    }

    /// <summary>Options every command accepts.</summary>
    public static readonly OptionSpec[] Common =
    {
        new("json", "print one JSON object on stdout (human text goes to stderr)", TakesValue: false),
        new("verbose", "more detail, and stack traces on errors", TakesValue: false, Alias: "v"),
        new("help", "show this help", TakesValue: false, Alias: "h"),
    };

    /// <summary>The names of every option given.</summary>
    public IEnumerable<string> Names => _values.Keys;

    /// <summary>True when a flag was given.</summary>
    public bool Has(string name) => _values.ContainsKey(name);

    /// <summary>The value of an option, or null.</summary>
    public string? Get(string name) => _values.TryGetValue(name, out var v) ? v : null;

    /// <summary>The value of a required option.</summary>
    public string Require(string name) => Get(name) ?? throw new UsageException($"'onnxrev {_command}' needs --{name}; see 'onnxrev {_command} --help'");

    /// <summary>The single positional argument (the model), required.</summary>
    public string RequirePositional(string what)
    {
        if (Positionals.Count == 0) throw new UsageException($"'onnxrev {_command}' needs {what}; see 'onnxrev {_command} --help'");
        if (Positionals.Count > 1) throw new UsageException($"'onnxrev {_command}' takes one {what}, got {Positionals.Count}: {string.Join(" ", Positionals)}");
        return Positionals[0];
    }

    /// <summary>A floating-point option.</summary>
    public double GetDouble(string name, double fallback, double min = double.MinValue)
    {
        var s = Get(name);
        if (s is null) return fallback;
        if (!double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) || double.IsNaN(v) || v < min)
            throw new UsageException($"option '--{name}' must be a number{(min > double.MinValue ? $" ≥ {min}" : "")}, got '{s}'");
        return v;
    }

    /// <summary>An integer option.</summary>
    public int GetInt(string name, int fallback, int min = int.MinValue)
    {
        var s = Get(name);
        if (s is null) return fallback;
        if (!int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) || v < min)
            throw new UsageException($"option '--{name}' must be an integer{(min > int.MinValue ? $" ≥ {min}" : "")}, got '{s}'");
        return v;
    }

    /// <summary>An option restricted to a set of words.</summary>
    public string GetChoice(string name, string fallback, params string[] choices)
    {
        var s = Get(name) ?? fallback;
        if (!choices.Contains(s)) throw new UsageException($"option '--{name}' must be one of {string.Join(", ", choices)}, got '{s}'");
        return s;
    }
}
