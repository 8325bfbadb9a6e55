namespace PFStorer.Restore;

/// <summary>
/// The verbs' one-line messages on stderr ("error: …", "warning: …"); file names in them are escaped like every other
/// name the host prints (TerminalText). Parse errors and unanticipated failures go through HostErrors.
/// </summary>
internal static class HostMessages
{
    public static void Error(string message) => Console.Error.WriteLine($"error: {TerminalText.Escape(message)}");

    public static void Warning(string message) => Console.Error.WriteLine($"warning: {TerminalText.Escape(message)}");

    /// <summary>Prints the error and returns the exit code, for `return Fail(2, …)`.</summary>
    public static int Fail(int code, string message)
    {
        Error(message);
        return code;
    }
}
