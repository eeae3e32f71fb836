namespace OnnxRev.Cli.Commands;

/// <summary>One `onnxrev` subcommand: its help and its work.</summary>
internal interface ICommand
{
    /// <summary>The word after `onnxrev`.</summary>
    string Name { get; }

    /// <summary>One line for the command list.</summary>
    string Summary { get; }

    /// <summary>Usage line, e.g. "onnxrev inspect MODEL [--json]".</summary>
    string Usage { get; }

    /// <summary>Paragraphs explaining what the command does and what it prints.</summary>
    string Description { get; }

    /// <summary>Example invocations.</summary>
    IReadOnlyList<string> Examples { get; }

    /// <summary>The command's own options (the common ones are added).</summary>
    IReadOnlyList<OptionSpec> Options { get; }

    /// <summary>Runs; returns the exit code (0 ok, 1 a requested check failed).</summary>
    int Run(Args args, Output output);
}
