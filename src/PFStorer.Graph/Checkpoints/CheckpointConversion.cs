namespace PFStorer.Graph.Checkpoints;

/// <summary>Rewrites any readable checkpoint as safetensors, one tensor at a time (memory stays at a few MB).</summary>
public static class CheckpointConversion
{
    /// <summary>
    /// Writes every tensor of <paramref name="source"/> to <paramref name="outputPath"/> (atomically), keeping each file
    /// dtype unless <paramref name="floatDType"/> asks for another float type; integer tensors are never changed.
    /// The source's metadata (e.g. global_step) is carried over, plus format = "pt" as other tools expect.
    /// </summary>
    /// <param name="cancel">observed between tensors and between chunks of a tensor.</param>
    public static void ToSafetensors(Checkpoint source, string outputPath, CheckpointDType? floatDType = null, CancellationToken cancel = default)
    {
        if (floatDType is { } f && !f.IsFloat()) throw new ArgumentException($"{f} is not a float dtype", nameof(floatDType));
        if (FileIdentity.SameFile(outputPath, source.Path))
            throw new ArgumentException($"{outputPath}: is the input {source.Path} (the same file); refusing to overwrite it");
        var metadata = new Dictionary<string, string>(source.Metadata) { ["format"] = "pt" };
        var entries = source.Tensors.Select(t =>
        {
            var dtype = t.DType.IsFloat() ? floatDType ?? t.DType : t.DType;
            return new SafetensorsEntry(t.Name, dtype, t.ShapeArray(), stream => source.ReadElements(t, dtype, chunk =>
            {
                cancel.ThrowIfCancellationRequested();
                stream.Write(chunk);
            }));
        });
        SafetensorsWriter.Write(outputPath, entries, metadata, cancel);
    }
}
