namespace PFStorer.Graph.Checkpoints;

/// <summary>Writes a file so that readers see either the old file or the complete new one, never a partial write.</summary>
public static class AtomicFile
{
    public static void Write(string path, Action<FileStream> write)
    {
        string full = System.IO.Path.GetFullPath(path);
        string temp = System.IO.Path.Combine(System.IO.Path.GetDirectoryName(full)!, $".{System.IO.Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20))
            {
                write(stream);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, full, overwrite: true);
        }
        catch
        {
            File.Delete(temp);
            throw;
        }
    }
}
