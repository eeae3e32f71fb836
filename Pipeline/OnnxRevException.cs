namespace OnnxRev;

/// <summary>
/// An error caused by the user's input (a model, a file, an option) rather than by a bug.
/// Its message is one sentence that names the file, node or option at fault; the CLI prints it
/// on one line and exits with code 2.
/// </summary>
public class OnnxRevException : Exception
{
    /// <summary>Creates an input error with a one-sentence message.</summary>
    public OnnxRevException(string message) : base(message) { }

    /// <summary>Creates an input error that wraps the low-level cause (shown with --verbose).</summary>
    public OnnxRevException(string message, Exception inner) : base(message, inner) { }
}

/// <summary>A check the user asked for failed (outputs differ, goal missed): the CLI exits with 1.</summary>
public class CheckFailedException : Exception
{
    /// <summary>Creates a failed-check error.</summary>
    public CheckFailedException(string message) : base(message) { }
}
