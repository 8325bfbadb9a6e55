using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;

namespace PFStorer.Restore;

/// <summary>
/// The last line of defence: whatever a verb did not turn into its own message becomes one line on stderr and a
/// documented exit code (docs/host.md), never a stack trace (set PFSTORER_TRACE=1 to see one).
/// </summary>
internal static class HostErrors
{
    /// <summary>Unknown options, missing arguments, values that do not parse: usage errors, exit code 2.</summary>
    public static int ParseErrors(ParseResult parse)
    {
        foreach (var error in parse.Errors) Console.Error.WriteLine($"error: {TerminalText.Escape(error.Message)}");
        Console.Error.WriteLine($"see `pfstorer {string.Join(' ', CommandPath(parse))} --help`");
        return ExitCodes.Usage;
    }

    /// <summary>
    /// A token that looks like an option but matched none (`--overwite`) would otherwise be taken as an input file name
    /// and the batch would run without it: refuse it, unless a file of that name exists. Returns the exit code or null.
    /// </summary>
    public static int? UnknownOptions(ParseResult parse)
    {
        var unknown = parse.CommandResult.Children.OfType<ArgumentResult>().SelectMany(a => a.Tokens)
            .Where(t => t.Value.Length > 1 && t.Value[0] == '-' && !double.TryParse(t.Value, CultureInfo.InvariantCulture, out _)
                && !File.Exists(t.Value) && !Directory.Exists(t.Value)).ToList();
        if (unknown.Count == 0) return null;
        foreach (var t in unknown) Console.Error.WriteLine($"error: unknown option {TerminalText.Escape(t.Value)}");
        Console.Error.WriteLine($"see `pfstorer {string.Join(' ', CommandPath(parse))} --help`");
        return ExitCodes.Usage;
    }

    public static int Unhandled(Exception e)
    {
        if (Environment.GetEnvironmentVariable("PFSTORER_TRACE") == "1") Console.Error.WriteLine(e);
        switch (e)
        {
            case OperationCanceledException:
                Console.Error.WriteLine("error: interrupted");
                return ExitCodes.Interrupted;
            case IOException or UnauthorizedAccessException:
                Console.Error.WriteLine($"error: {e.Message}");
                return ExitCodes.Usage;
            default:
                Console.Error.WriteLine($"error: internal error ({e.GetType().Name}: {FirstLine(e.Message)}); please report it with the command line (PFSTORER_TRACE=1 shows where)");
                return ExitCodes.Internal;
        }
    }

    private static string FirstLine(string text) => text.Split('\n')[0].TrimEnd();

    private static IEnumerable<string> CommandPath(ParseResult parse)
    {
        var names = new List<string>();
        for (var r = parse.CommandResult; r != null && r.Command is not RootCommand; r = r.Parent as CommandResult)
            names.Insert(0, r.Command.Name);
        return names;
    }
}
