namespace PFStorer.Kernels.Cpu;

/// <summary>bfloat16 ⇄ float conversions (round to nearest even, NaN preserved), matching PyTorch.</summary>
public static class Bf16
{
    public static ushort FromFloat(float f)
    {
        uint bits = BitConverter.SingleToUInt32Bits(f);
        if ((bits & 0x7fffffff) > 0x7f800000) return (ushort)((bits >> 16) | 0x40); // quiet NaN
        uint rounding = 0x7fff + ((bits >> 16) & 1);
        return (ushort)((bits + rounding) >> 16);
    }

    public static float ToFloat(ushort b) => BitConverter.UInt32BitsToSingle((uint)b << 16);
}
