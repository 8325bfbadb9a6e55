namespace PFStorer.Graph.Checkpoints;

/// <summary>
/// A checkpoint file is malformed, truncated, hostile or in a format this engine does not read. The message names the
/// file and the problem; nothing from the file was executed. Every reader in this namespace reports bad input through
/// this type (or its subclass <see cref="UnsafePickleException"/>) and nothing else.
/// </summary>
public class CheckpointFormatException : IOException
{
    public string FilePath { get; }
    public string Problem { get; }

    public CheckpointFormatException(string filePath, string problem, Exception? inner = null)
        : base($"{filePath}: {problem}", inner)
    {
        FilePath = filePath;
        Problem = problem;
    }
}

/// <summary>
/// A pickle asked for a callable or an operation outside the state-dict allow-list (e.g. builtins.eval, os.system,
/// REDUCE on a non-allowed object). The unpickler never executes anything, so this is a refusal, not a mitigation.
/// </summary>
public sealed class UnsafePickleException(string filePath, string what)
    : CheckpointFormatException(filePath, $"unsafe pickle rejected: {what}; nothing was executed");
