using System.Collections.Concurrent;
using System.Diagnostics;

namespace PFStorer.Graph.Checkpoints;

/// <summary>
/// Writes a file so that readers see either the old file or the complete new one, never a partial write: the bytes go
/// to a hidden temporary sibling <c>.NAME.PID.GUID.tmp</c>, which is renamed over the target when complete. A failed or
/// cancelled write deletes its temporary file; temporaries still open when the process exits are deleted then; and a
/// temporary left by a killed process (its PID no longer running) is removed by the next write to the same target.
/// </summary>
public static class AtomicFile
{
    private static readonly ConcurrentDictionary<string, byte> Live = new(StringComparer.Ordinal);

    static AtomicFile()
    {
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            foreach (var temp in Live.Keys) TryDelete(temp);
        };
    }

    /// <param name="overwrite">false: fail with IOException if the target exists when the file is published (checked atomically at the rename).</param>
    /// <param name="cancel">checked before publishing; long writers should also observe it inside <paramref name="write"/>.</param>
    public static void Write(string path, Action<FileStream> write, bool overwrite = true, CancellationToken cancel = default)
    {
        string full = Path.GetFullPath(path);
        string temp = NewTemporary(full);
        Live[temp] = 0;
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20))
            {
                write(stream);
                cancel.ThrowIfCancellationRequested();
                stream.Flush(flushToDisk: true);
            }
            cancel.ThrowIfCancellationRequested();
            File.Move(temp, full, overwrite);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
        finally
        {
            Live.TryRemove(temp, out _);
        }
    }

    /// <summary>
    /// Proves that files can be created in <paramref name="dir"/> by creating and deleting a temporary there (named as
    /// the writers name theirs, so one left by a killed process is cleaned up like theirs). Throws IOException or
    /// UnauthorizedAccessException naming the problem.
    /// </summary>
    public static void ProbeFolder(string dir)
    {
        string temp = NewTemporary(Path.Combine(Path.GetFullPath(dir), "pfstorer-probe"));
        Live[temp] = 0;
        try
        {
            using (new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.DeleteOnClose)) { }
        }
        finally
        {
            Live.TryRemove(temp, out _);
        }
    }

    /// <summary>The temporary sibling for <paramref name="full"/>, after removing those that killed processes left.</summary>
    private static string NewTemporary(string full)
    {
        string dir = Path.GetDirectoryName(full)!, name = Path.GetFileName(full);
        RemoveStale(dir, name);
        return Path.Combine(dir, $".{name}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
    }

    /// <summary>Temporaries of <paramref name="name"/> in <paramref name="dir"/> whose writing process is gone.</summary>
    internal static IEnumerable<string> StaleTemporaries(string dir, string name)
    {
        if (!Directory.Exists(dir)) yield break;
        string prefix = $".{name}.";
        foreach (var file in Directory.EnumerateFiles(dir, $".{name}.*.tmp"))
        {
            var middle = Path.GetFileName(file)[prefix.Length..^4].Split('.');
            if (middle.Length == 2 && middle[1].Length == 32 && int.TryParse(middle[0], out int pid) && !Running(pid)) yield return file;
        }
    }

    private static void RemoveStale(string dir, string name)
    {
        foreach (var file in StaleTemporaries(dir, name).ToList()) TryDelete(file);
    }

    private static bool Running(int pid)
    {
        if (pid == Environment.ProcessId) return true;
        try
        {
            using var p = Process.GetProcessById(pid);
            return !p.HasExited;
        }
        catch (ArgumentException) { return false; }
        catch (InvalidOperationException) { return false; }
    }

    private static void TryDelete(string file)
    {
        try { File.Delete(file); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }
}
