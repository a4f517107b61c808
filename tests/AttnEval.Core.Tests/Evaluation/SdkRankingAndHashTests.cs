using AttnEval.Core.Evaluation;
using AttnEval.Core.Running;
using AttnEval.Plugins.Sdk;

namespace AttnEval.Core.Tests.Evaluation;

/// <summary>
/// The AUROC and the FNV-1a hash that the host and the plugins now share from the plugin SDK (issue 17): the shared AUROC
/// must give bit for bit what both former copies gave (the host's mid-rank formula and attention-influence's pairwise
/// count), and the host's answer seeds must not move.
/// </summary>
public sealed class SdkRankingAndHashTests
{
    /// <summary>attention-influence's former <c>PairwiseAuroc</c>, kept here as the reference: wins (ties ½) over pairs.</summary>
    private static double PairwiseAuroc(IReadOnlyList<double> scores, IReadOnlyList<bool> positive)
    {
        double wins = 0;
        long pairs = 0;
        for (int i = 0; i < scores.Count; i++)
        {
            if (!positive[i]) continue;
            for (int j = 0; j < scores.Count; j++)
            {
                if (positive[j]) continue;
                pairs++;
                wins += scores[i] > scores[j] ? 1 : scores[i] == scores[j] ? 0.5 : 0;
            }
        }
        return pairs == 0 ? double.NaN : wins / pairs;
    }

    /// <summary>
    /// Exact equality, not a tolerance: the pairwise count adds 0, ½ or 1 per pair, and the mid-rank numerator
    /// R₊ − n₊(n₊+1)/2 adds multiples of ½; both are exact in double for these sizes and equal the same rational (the
    /// Mann–Whitney U), and both divide it once by the same exact n₊·n₋, so IEEE division rounds them to the same double.
    /// </summary>
    [Fact]
    public void Auroc_equals_the_pairwise_count_bit_for_bit_on_random_inputs_with_ties()
    {
        var rng = new Random(17);
        for (int trial = 0; trial < 3000; trial++)
        {
            int n = rng.Next(0, 90);
            int levels = rng.Next(1, 12);                  // few levels: many ties within and across classes
            bool continuous = trial % 3 == 0;
            double posRate = rng.NextDouble();
            var scores = new double[n];
            var positive = new bool[n];
            for (int i = 0; i < n; i++)
            {
                scores[i] = continuous ? rng.NextDouble() * 4 - 2 : rng.Next(levels) * 0.1 - 0.3;
                if (trial % 7 == 0 && rng.Next(10) == 0) scores[i] = rng.Next(2) == 0 ? double.PositiveInfinity : double.NegativeInfinity;
                if (trial % 11 == 0 && rng.Next(10) == 0) scores[i] = -0.0;
                positive[i] = rng.NextDouble() < posRate;
            }
            var expected = PairwiseAuroc(scores, positive);
            var actual = Ranking.Auroc(scores, positive);
            BitConverter.DoubleToInt64Bits(actual).Should().Be(BitConverter.DoubleToInt64Bits(expected),
                $"trial {trial}: n={n}, pairwise {expected:R}, mid-rank {actual:R}");
        }
    }

    [Fact]
    public void Auroc_hand_cases_and_errors()
    {
        Ranking.Auroc([0.9, 0.4, 0.4, 0.4, 0.1], [true, true, true, false, false]).Should().Be(5.0 / 6);
        Ranking.Auroc([0.1, 0.2], [true, false]).Should().Be(0);
        Ranking.Auroc([0.1, 0.2], [true, true]).Should().Be(double.NaN);
        Ranking.Auroc([], []).Should().Be(double.NaN);
        Ranking.Auroc([1.0, 1.0, 1.0], [true, false, true]).Should().Be(0.5);
        ((Action)(() => Ranking.Auroc([0.1], [true, false]))).Should().Throw<ArgumentException>().WithMessage("*same length*");
        ((Action)(() => Ranking.Auroc([double.NaN, 0.2], [true, false]))).Should().Throw<ArgumentException>().WithMessage("*NaN*");
        ((Action)(() => Ranking.Auroc(null!, [true]))).Should().Throw<ArgumentNullException>();
    }

    [Fact]
    public void Host_auroc_still_sanitises_NaN_before_ranking()
    {
        // NaN → −1e7 (spec §5), so it ranks below every finite score; the SDK itself refuses NaN.
        UncertaintyMetrics.Auroc([double.NaN, 0.5, 0.7], [false, true, false]).Should().Be(0.5);
    }

    [Theory]
    [InlineData("", 0xcbf29ce484222325UL)]
    [InlineData("a", 0xaf63dc4c8601ec8cUL)]
    [InlineData("foobar", 0x85944171f73967e8UL)]
    public void Fnv1a_matches_the_published_vectors(string text, ulong expected) =>
        Fnv1a.Hash64(text).Should().Be(expected);

    /// <summary>The host's former <c>StableHash</c> body, kept here as the reference.</summary>
    private static long OldStableHash(string s)
    {
        ulong h = 14695981039346656037UL;
        foreach (var ch in s) { h ^= ch; h *= 1099511628211UL; }
        return (long)(h & long.MaxValue);
    }

    [Fact]
    public void Answer_seed_hash_is_unchanged()
    {
        // Pinned values (computed independently, Python over UTF-16 code units) and the former code on random ids.
        UncertaintyRunner.StableHash("q-001").Should().Be(5749018919331728286L);
        UncertaintyRunner.StableHash("ü€").Should().Be(753680069598884373L);
        var rng = new Random(5);
        for (int i = 0; i < 2000; i++)
        {
            var chars = new char[rng.Next(0, 40)];
            for (int k = 0; k < chars.Length; k++) chars[k] = (char)(i % 2 == 0 ? rng.Next(32, 127) : rng.Next(0, 0xD800));
            var id = new string(chars);
            UncertaintyRunner.StableHash(id).Should().Be(OldStableHash(id));
        }
    }

    /// <summary>reasoning-rhythm's former <c>RhythmMath.Quantile</c>, kept here as the reference (the host's former
    /// <c>Bootstrap.Quantile</c> had the same arithmetic with h = (n−1)·p; multiplication commutes exactly).</summary>
    private static double OldRhythmQuantile(IReadOnlyList<double> sorted, double q)
    {
        if (sorted.Count == 0) return double.NaN;
        double pos = q * (sorted.Count - 1);
        int lo = (int)Math.Floor(pos), hi = Math.Min(sorted.Count - 1, lo + 1);
        return sorted[lo] + (pos - lo) * (sorted[hi] - sorted[lo]);
    }

    [Fact]
    public void Quantile_equals_both_former_copies_bit_for_bit()
    {
        var rng = new Random(11);
        double[] levels = [0, 0.025, 0.25, 0.5, 0.75, 0.975, 1];
        for (int trial = 0; trial < 2000; trial++)
        {
            var v = Enumerable.Range(0, rng.Next(1, 60)).Select(_ => Math.Round(rng.NextDouble() * 10 - 5, trial % 2 == 0 ? 1 : 15)).Order().ToArray();
            var p = trial % 3 == 0 ? rng.NextDouble() : levels[rng.Next(levels.Length)];
            var expected = OldRhythmQuantile(v, p);
            BitConverter.DoubleToInt64Bits(Ranking.Quantile(v, p)).Should().Be(BitConverter.DoubleToInt64Bits(expected));
            BitConverter.DoubleToInt64Bits(Bootstrap.Quantile(v, p)).Should().Be(BitConverter.DoubleToInt64Bits(expected));
        }
        ((Action)(() => Ranking.Quantile([], 0.5))).Should().Throw<ArgumentException>().WithMessage("*empty*");
        ((Action)(() => Ranking.Quantile([1.0], 1.5))).Should().Throw<ArgumentException>().WithMessage("*[0, 1]*");
        ((Action)(() => Ranking.Quantile([1.0], double.NaN))).Should().Throw<ArgumentException>();
    }
}
