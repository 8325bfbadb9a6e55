using System.CommandLine;
using PFStorer.Restore;
using Spectre.Console;

// The console host: one verb per file under Verbs/, registered here. Exit codes are the same for every verb (ExitCodes).
// Tables and progress are plain text in a pipe or file, whatever TERM says (no escape codes in `metrics | cat`).
if (Console.IsOutputRedirected)
    AnsiConsole.Console = AnsiConsole.Create(new AnsiConsoleSettings { Ansi = AnsiSupport.No, ColorSystem = ColorSystemSupport.NoColors, Interactive = InteractionSupport.No });
var root = new RootCommand("PFStorer.Native — personalized face restoration (StableSR + PFStorer) in C# with CUDA kernels.");
foreach (var verb in VerbRegistry.All()) root.Subcommands.Add(verb);
var parse = root.Parse(args);
if (parse.Errors.Count > 0) return HostErrors.ParseErrors(parse);
if (HostErrors.UnknownOptions(parse) is { } usage) return usage;
// Ctrl-C cancels the verb's token; verbs stop at their next checkpoint (a sampling step, a training iteration) and clean
// up (restore removes temp files, personalize saves its state), which can take one step: allow it the time.
try
{
    return await parse.InvokeAsync(new InvocationConfiguration { EnableDefaultExceptionHandler = false, ProcessTerminationTimeout = TimeSpan.FromMinutes(30) });
}
catch (Exception e)
{
    return HostErrors.Unhandled(e);
}
