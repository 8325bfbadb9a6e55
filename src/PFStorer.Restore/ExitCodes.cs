namespace PFStorer.Restore;

/// <summary>The host's exit codes, the same for every verb (docs/host.md).</summary>
internal static class ExitCodes
{
    /// <summary>Everything asked for was done (outputs that exist may have been skipped, as the summary says).</summary>
    public const int Ok = 0;
    /// <summary>The run went through but some inputs failed (restore, degrade, metrics) or `weights verify` found problems.</summary>
    public const int Failed = 1;
    /// <summary>Nothing was done: bad arguments or options, unreadable weights, an unusable output location.</summary>
    public const int Usage = 2;
    /// <summary>An error the host did not anticipate (a bug): one line on stderr; PFSTORER_TRACE=1 adds the stack trace.</summary>
    public const int Internal = 3;
    /// <summary>Interrupted by SIGINT (Ctrl+C) or SIGTERM; what was complete is kept, nothing half-written is left.</summary>
    public const int Interrupted = 130;
}
