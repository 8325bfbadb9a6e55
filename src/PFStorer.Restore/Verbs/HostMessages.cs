namespace PFStorer.Restore;

/// <summary>The host's one-line error messages on stderr ("error: …"), shared by the verbs.</summary>
internal static class HostMessages
{
    public static void Error(string message) => Console.Error.WriteLine($"error: {message}");

    public static void Warning(string message) => Console.Error.WriteLine($"warning: {message}");

    /// <summary>Prints the error and returns the exit code, for `return Fail(2, …)`.</summary>
    public static int Fail(int code, string message)
    {
        Error(message);
        return code;
    }
}
