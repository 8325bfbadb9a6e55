namespace PFStorer.Images;

/// <summary>
/// ImageSharp 2.1 decodes a JPEG cut off inside its scan data without an error, which would hand a partly made-up
/// photo to the restorer; this check turns such a file into an error instead (docs/images.md).
/// </summary>
internal static class JpegStructure
{
    /// <summary>
    /// True when an end-of-image marker (FF D9) follows the first start-of-scan (FF DA). Inside entropy-coded data a
    /// 0xFF byte is always followed by 00 (stuffing) or a restart marker, so FF D9 there is the real end; data after it
    /// (the video of a "motion photo", say) is allowed.
    /// </summary>
    public static bool HasEndAfterScan(ReadOnlySpan<byte> jpeg)
    {
        int scan = jpeg.IndexOf([(byte)0xFF, (byte)0xDA]);
        return scan >= 0 && jpeg[(scan + 2)..].IndexOf([(byte)0xFF, (byte)0xD9]) >= 0;
    }
}
