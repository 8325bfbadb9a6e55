// Counter-based standard normal noise: Philox4x32-10 + Box–Muller.
// Twin of src/PFStorer.Graph/Sampling/Philox.cs — the same (seed, stream, element) gives the same float on both
// backends, bit for bit. Element n uses key = seed, counter = (n/4 as 64 bits, stream as 64 bits); lanes (0,1) and
// (2,3) of the Philox block give normals 4*(n/4) + {0,1} and + {2,3}.
// Every double operation is written with an explicit rounding intrinsic or fma(), so no compiler contraction
// (-fmad) or fast-math flag can change the result; log and sin/cos are our own series, identical to the C# code.
// Self-contained: no headers, compiles with NVRTC 11.8.

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

__device__ __forceinline__ void philox4x32_10(unsigned int c[4], unsigned int k0, unsigned int k1)
{
    #pragma unroll
    for (int round = 0; round < 10; round++) {
        if (round > 0) { k0 += PHILOX_W0; k1 += PHILOX_W1; }
        unsigned int hi0 = __umulhi(PHILOX_M0, c[0]), lo0 = PHILOX_M0 * c[0];
        unsigned int hi1 = __umulhi(PHILOX_M1, c[2]), lo1 = PHILOX_M1 * c[2];
        unsigned int n0 = hi1 ^ c[1] ^ k0, n2 = hi0 ^ c[3] ^ k1;
        c[0] = n0; c[1] = lo1; c[2] = n2; c[3] = lo0;
    }
}

// (-1)^k/(2k+1)!, (-1)^k/(2k)!, 1/(2k+1): the same correctly rounded literals as Philox.cs.
__constant__ double kSin[12] = {
    1.0, -0.16666666666666666, 0.008333333333333333, -0.0001984126984126984, 2.7557319223985893e-06,
    -2.505210838544172e-08, 1.6059043836821613e-10, -7.647163731819816e-13, 2.8114572543455206e-15,
    -8.22063524662433e-18, 1.9572941063391263e-20, -3.868170170630684e-23 };
__constant__ double kCos[12] = {
    1.0, -0.5, 0.041666666666666664, -0.001388888888888889, 2.48015873015873e-05, -2.755731922398589e-07,
    2.08767569878681e-09, -1.1470745597729725e-11, 4.779477332387385e-14, -1.5619206968586225e-16,
    4.110317623312165e-19, -8.896791392450574e-22 };
__constant__ double kAtanh[12] = {
    1.0, 0.3333333333333333, 0.2, 0.14285714285714285, 0.1111111111111111, 0.09090909090909091,
    0.07692307692307693, 0.06666666666666667, 0.058823529411764705, 0.05263157894736842, 0.047619047619047616,
    0.043478260869565216 };

// ln u, u in (0,1]: u = m*2^e, m in [sqrt(1/2), sqrt(2)), ln m = 2 atanh(s), s = (m-1)/(m+1).
__device__ __forceinline__ double series_log(double u)
{
    long long bits = __double_as_longlong(u);
    int e = (int)((bits >> 52) & 0x7FF) - 1023;
    double m = __longlong_as_double((bits & 0x000FFFFFFFFFFFFFLL) | 0x3FF0000000000000LL);
    if (m > 1.4142135623730951) { m = __dmul_rn(m, 0.5); e++; }
    double s = __ddiv_rn(__dadd_rn(m, -1.0), __dadd_rn(m, 1.0));
    double s2 = __dmul_rn(s, s);
    double p = kAtanh[11];
    for (int k = 10; k >= 0; k--) p = fma(p, s2, kAtanh[k]);
    double lnm = __dmul_rn(__dmul_rn(2.0, s), p);
    double ed = (double)e;
    return fma(ed, 0.6931471803691238, fma(ed, 1.9082149292705877e-10, lnm));
}

// sin and cos of 2*pi*t, t in [0,1): exact quadrant, then Taylor series on [0, pi/2).
__device__ __forceinline__ void series_sincos_turns(double t, double* sn, double* cs)
{
    double f4 = __dmul_rn(4.0, t);
    double q = floor(f4);
    double phi = __dmul_rn(__dadd_rn(f4, -q), 1.5707963267948966);
    double p2 = __dmul_rn(phi, phi);
    double sp = kSin[11], cp = kCos[11];
    for (int k = 10; k >= 0; k--) { sp = fma(sp, p2, kSin[k]); cp = fma(cp, p2, kCos[k]); }
    double s = __dmul_rn(phi, sp), c = cp;
    switch ((int)q) {
        case 0: *sn = s; *cs = c; break;
        case 1: *sn = c; *cs = -s; break;
        case 2: *sn = -s; *cs = -c; break;
        default: *sn = -c; *cs = s; break;
    }
}

__device__ __forceinline__ void box_muller(unsigned int w1, unsigned int w2, float* z0, float* z1)
{
    const double inv2p32 = 2.3283064365386963e-10;  // 2^-32, exact
    double u1 = __dmul_rn(__dadd_rn((double)w1, 0.5), inv2p32);
    double u2 = __dmul_rn(__dadd_rn((double)w2, 0.5), inv2p32);
    double r = __dsqrt_rn(__dmul_rn(-2.0, series_log(u1)));
    double s, c;
    series_sincos_turns(u2, &s, &c);
    *z0 = __double2float_rn(__dmul_rn(r, c));
    *z1 = __double2float_rn(__dmul_rn(r, s));
}

// y[i] = normal element (first + i) of the (seed, stream) sequence, i < count. One thread per Philox block.
extern "C" __global__ void standard_normal_f32(float* __restrict__ y, unsigned long long count,
    unsigned long long seed, unsigned long long stream, unsigned long long first)
{
    unsigned long long block = (first >> 2) + (unsigned long long)blockIdx.x * blockDim.x + threadIdx.x;
    unsigned long long base = block << 2;
    if (base >= first + count) return;
    unsigned int c[4] = { (unsigned int)block, (unsigned int)(block >> 32), (unsigned int)stream, (unsigned int)(stream >> 32) };
    philox4x32_10(c, (unsigned int)seed, (unsigned int)(seed >> 32));
    float z[4];
    box_muller(c[0], c[1], &z[0], &z[1]);
    box_muller(c[2], c[3], &z[2], &z[3]);
    #pragma unroll
    for (int lane = 0; lane < 4; lane++) {
        unsigned long long n = base + lane;
        if (n >= first && n < first + count) y[n - first] = z[lane];
    }
}
