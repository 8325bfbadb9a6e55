using System.Runtime.InteropServices;

namespace PFStorer.Graph.Checkpoints;

/// <summary>
/// Whether two paths name the same file on disk: on Linux the same device and inode after following every symlink
/// (in the folders and at the end), so a symlink, a hard link or a folder reached by two names is recognised.
/// "Never overwrite an input" compares files this way, never the strings the user typed (docs/host.md).
/// </summary>
public static class FileIdentity
{
    /// <summary>True when both paths exist and are the same file; false when either does not exist.</summary>
    public static bool SameFile(string a, string b) => Key(a) is { } ka && ka == Key(b);

    /// <summary>True when <paramref name="candidate"/> exists and is the same file as one of <paramref name="files"/>.</summary>
    public static bool SameAsAny(string candidate, IEnumerable<string> files) => Key(candidate) is { } k && files.Any(f => Key(f) == k);

    /// <summary>"device:inode" of the file a path finally names (off Linux: its full path), or null when nothing is there.</summary>
    public static string? Key(string path)
    {
        if (OperatingSystem.IsLinux())
        {
            Span<byte> buffer = stackalloc byte[256];   // struct stat: 144 bytes on x86-64, 128 on arm64; st_dev and st_ino lead both
            try
            {
                unsafe
                {
                    fixed (byte* p = buffer)
                        if (Stat(path, p) != 0) return null;
                }
                return $"{BitConverter.ToUInt64(buffer[..8])}:{BitConverter.ToUInt64(buffer[8..16])}";
            }
            catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { }   // a libc without stat(): paths below
        }
        return File.Exists(path) || Directory.Exists(path) ? Path.GetFullPath(path) : null;
    }

    [DllImport("libc", EntryPoint = "stat", SetLastError = true)]
    private static extern unsafe int Stat([MarshalAs(UnmanagedType.LPUTF8Str)] string path, byte* buffer);
}
