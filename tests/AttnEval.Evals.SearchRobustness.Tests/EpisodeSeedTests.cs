using System.Globalization;
using AttnEval.Evals.SearchRobustness;

namespace AttnEval.Evals.SearchRobustness.Tests;

/// <summary>The episode seed now hashes through the plugin SDK's FNV-1a (issue 17); every episode must keep its seed.</summary>
public class EpisodeSeedTests
{
    /// <summary>The plugin's former <c>EpisodeSeed</c> body, kept here as the reference.</summary>
    private static long OldEpisodeSeed(long seed, int run, string item, string condition)
    {
        ulong h = 14695981039346656037UL;
        foreach (var ch in string.Create(CultureInfo.InvariantCulture, $"{seed}|{run}|{item}|{condition}"))
        {
            h ^= ch;
            h *= 1099511628211UL;
        }
        return (long)(h >> 1);
    }

    [Fact]
    public void Episode_seeds_are_unchanged()
    {
        // Pinned (computed independently: FNV-1a 64 of "13|0|q1|clean" is 0xc69b1c000dc4885c, shifted right by one).
        SearchRobustnessEvaluation.EpisodeSeed(13, 0, "q1", "clean").Should().Be(7155531513728222254L);
        var rng = new Random(3);
        string[] conditions = ["clean", "typo", "distractor", "drop-top", "ü-perturbed"];
        for (int i = 0; i < 2000; i++)
        {
            long seed = rng.NextInt64(long.MinValue, long.MaxValue);
            int run = rng.Next(0, 10);
            var item = "item-" + rng.Next(0, 100000).ToString(CultureInfo.InvariantCulture);
            var cond = conditions[rng.Next(conditions.Length)];
            SearchRobustnessEvaluation.EpisodeSeed(seed, run, item, cond).Should().Be(OldEpisodeSeed(seed, run, item, cond));
        }
    }
}
