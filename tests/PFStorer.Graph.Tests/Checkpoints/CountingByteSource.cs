using PFStorer.Graph.Checkpoints;

namespace PFStorer.Graph.Tests.Checkpoints;

/// <summary>An in-memory file that counts the bytes readers pull from it (and can pretend to end early).</summary>
internal sealed class CountingByteSource(byte[] data, string name, int? length = null) : ByteSource
{
    public long BytesRead { get; private set; }
    public override string Name => name;
    public override long Length => length ?? data.Length;

    protected override void ReadCore(long offset, Span<byte> destination)
    {
        BytesRead += destination.Length;
        data.AsSpan((int)offset, destination.Length).CopyTo(destination);
    }

    public override void Dispose() { }
}
