using AttnEval.Core.Evaluation;

namespace AttnEval.Core.Tests.Evaluation;

public class BootstrapTests
{
    [Fact]
    public void SplitMix64_matches_the_reference_stream()
    {
        var rng = new SplitMix64(0);
        rng.NextUInt64().Should().Be(0xE220A8397B1DCDAFUL);
        rng.NextUInt64().Should().Be(0x6E789E6AA1B965F4UL);
    }

    [Fact]
    public void SplitMix64_bounded_ints_are_in_range_and_roughly_uniform()
    {
        var rng = new SplitMix64(123);
        var counts = new int[6];
        for (var i = 0; i < 60_000; i++) counts[rng.NextInt(6)]++;
        counts.Should().OnlyContain(c => c > 9_500 && c < 10_500);
    }

    [Fact]
    public void Quantile_is_numpy_linear()
    {
        double[] v = [1, 2, 3, 4];
        Bootstrap.Quantile(v, 0.25).Should().BeApproximately(1.75, 1e-12);
        Bootstrap.Quantile(v, 0.5).Should().BeApproximately(2.5, 1e-12);
        Bootstrap.Quantile(v, 0).Should().Be(1);
        Bootstrap.Quantile(v, 1).Should().Be(4);
    }

    [Fact]
    public void Same_seed_gives_the_same_interval_and_another_seed_a_different_one()
    {
        var x = Enumerable.Range(0, 50).Select(i => (double)(i * 7 % 13)).ToArray();
        double Mean(int[] idx) => idx.Average(i => x[i]);
        var a = Bootstrap.PercentileInterval(x.Length, Mean, 500, 0.95, seed: 7);
        var b = Bootstrap.PercentileInterval(x.Length, Mean, 500, 0.95, seed: 7);
        var c = Bootstrap.PercentileInterval(x.Length, Mean, 500, 0.95, seed: 8);
        b.Should().Be(a);
        (c.Lower, c.Upper).Should().NotBe((a.Lower, a.Upper));
        a.Lower.Should().BeLessThan(x.Average());
        a.Upper.Should().BeGreaterThan(x.Average());
        a.Valid.Should().Be(500);
    }

    [Fact]
    public void A_constant_statistic_has_a_zero_width_interval()
    {
        var ci = Bootstrap.PercentileInterval(10, _ => 3.5, 100);
        ci.Lower.Should().Be(3.5);
        ci.Upper.Should().Be(3.5);
    }

    [Fact]
    public void Nan_replicates_are_left_out_and_counted()
    {
        var calls = 0;
        var ci = Bootstrap.PercentileInterval(5, _ => calls++ % 2 == 0 ? double.NaN : 1.0, 100);
        ci.Valid.Should().Be(50);
        ci.Lower.Should().Be(1.0);
    }

    [Fact]
    public void Interval_narrows_as_the_sample_grows()
    {
        static double Width(int n)
        {
            var rng = new SplitMix64(n);
            var x = Enumerable.Range(0, n).Select(_ => rng.NextDouble()).ToArray();
            var ci = Bootstrap.PercentileInterval(n, idx => idx.Average(i => x[i]), 400, 0.95, 1);
            return ci.Upper - ci.Lower;
        }
        // the width of a mean's interval scales like 1/√n: 16× the data → about ¼ the width
        var ratio = Width(1600) / Width(100);
        ratio.Should().BeInRange(0.18, 0.33);
    }

    [Fact]
    public void Brier_intervals_cover_the_true_value_about_95_percent_of_the_time()
    {
        // Calibrated forecaster: c ~ U(0,1), correct ~ Bernoulli(c); true Brier = E[c(1−c)] = 1/6.
        const int datasets = 200, n = 150;
        var covered = 0;
        for (var d = 0; d < datasets; d++)
        {
            var rng = new SplitMix64(1000 + d);
            var c = new double[n];
            var a = new double[n];
            for (var i = 0; i < n; i++)
            {
                c[i] = rng.NextDouble();
                a[i] = rng.NextDouble() < c[i] ? 1 : 0;
            }
            var ci = Bootstrap.PercentileInterval(n, idx => UncertaintyMetrics.BrierCore(idx.Select(i => c[i]).ToArray(), idx.Select(i => a[i]).ToArray()), 300, 0.95, d);
            if (ci.Lower <= 1.0 / 6 && 1.0 / 6 <= ci.Upper) covered++;
        }
        ((double)covered / datasets).Should().BeInRange(0.88, 0.99);
    }

    [Fact]
    public void Invalid_arguments_throw()
    {
        FluentActions.Invoking(() => Bootstrap.PercentileInterval(0, _ => 1)).Should().Throw<ArgumentException>().WithMessage("*at least one item*");
        FluentActions.Invoking(() => Bootstrap.PercentileInterval(3, _ => 1, 0)).Should().Throw<ArgumentException>().WithMessage("*at least one resample*");
        FluentActions.Invoking(() => Bootstrap.PercentileInterval(3, _ => 1, 10, 1.0)).Should().Throw<ArgumentException>().WithMessage("*(0, 1)*");
    }
}
