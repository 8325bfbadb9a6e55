namespace PFStorer.Restore.Tests.Verbs;

/// <summary>Runs a verb in this process through the host's own command-line parsing (the verbs registered as in Program).</summary>
internal static class InProcessVerbs
{
    public static int Invoke(params string[] args)
    {
        var root = new System.CommandLine.RootCommand();
        foreach (var verb in VerbRegistry.All()) root.Subcommands.Add(verb);
        return root.Parse(args).Invoke();
    }
}
