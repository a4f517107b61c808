using AttnEval.Abstractions;

namespace AttnEval.Metrics.ReasoningRhythm.Tests;

public sealed class MathAndOptionsTests
{
    [Theory]
    [InlineData(32, 5, new[] { 10, 13, 16, 18, 21 })]   // ⌊32/3⌋ = 10 … ⌊64/3⌋ = 21: 10, 12.75, 15.5, 18.25, 21 rounded
    [InlineData(36, 5, new[] { 12, 15, 18, 21, 24 })]
    [InlineData(4, 5, new[] { 1, 2 })]                    // the lab model: 1 … 2, duplicates merged
    [InlineData(5, 5, new[] { 1, 2, 3 })]                 // stories260K: 1 … 3
    [InlineData(1, 5, new[] { 0 })]
    [InlineData(32, 1, new[] { 16 })]                     // one layer: the middle of 10 … 21 (15.5 rounds away from zero)
    public void Middle_third_layer_rule(int layers, int count, int[] expected) =>
        RhythmMath.MiddleThirdLayers(layers, count).Should().Equal(expected);

    [Fact]
    public void Group_size_is_the_floor_of_the_fraction_at_least_one()
    {
        RhythmMath.GroupSize(8, 0.3).Should().Be(2);     // lab model: 2 layers × 4 heads
        RhythmMath.GroupSize(10, 0.3).Should().Be(3);
        RhythmMath.GroupSize(3, 0.3).Should().Be(1);
    }

    [Fact]
    public void Peaks_are_local_maxima_above_the_quantile()
    {
        //            0    1    2    3    4    5    6    7
        double[] x = [0.1, 0.9, 0.2, 0.3, 0.3, 0.1, 0.8, 0.7];
        // local maxima: 1 (0.9), 3 (first of the 0.3 plateau), 6 (0.8). 0.75-quantile of the sorted values
        // [.1 .1 .2 .3 .3 .7 .8 .9]: position 5.25 → .7 + .25·.1 = .725 → peaks 1 and 6.
        RhythmMath.Peaks(x, 0.75).Should().Equal(1, 6);
        RhythmMath.Peaks(x, 0).Should().Equal(1, 3, 6);
        RhythmMath.Peaks([0.5, 0.5, 0.5], 0).Should().BeEmpty("a flat series has no peak");
        RhythmMath.Peaks([0.5], 0).Should().BeEmpty();
        RhythmMath.Peaks([0.9, 0.1], 0).Should().Equal(0);
        // nulls are neither peaks nor neighbours: 0.4 at 2 has only its left neighbour 0.2
        RhythmMath.Peaks(new double?[] { 0.1, 0.2, 0.4, null, 0.3 }, 0).Should().Equal(2);
    }

    [Fact]
    public void Top_positions_take_the_ceiling_share_of_defined_FAI()
    {
        RhythmMath.TopPositions(new double?[] { 0.2, 0.5, null, 0.5, 0.1 }, 0.4).Should().Equal(1, 3);   // ⌈.4·4⌉ = 2, tie by position
        RhythmMath.TopPositions(new double?[] { null, null }, 0.4).Should().BeEmpty();
    }

    [Fact]
    public void Couplings_count_peaks_against_exact_random_baselines()
    {
        double[] entropy = [1, 2, 3, 4, 5, 6];
        int[] waadPeaks = [1, 4];
        double?[] fai = [0.1, 0.3, 0.2, 0.1, 0.4, null];
        int[] faiPeaks = [1, 4];
        var c = RhythmMath.Couple(entropy, waadPeaks, fai, faiPeaks, lag: 1);
        // entropy at WAAD peaks: (2 + 5) / 2 = 3.5 vs all (21 / 6 = 3.5)
        c.EntropyAtPeaks.Should().Be(7); c.WaadPeaks.Should().Be(2);
        c.EntropyAll.Should().Be(21); c.Tokens.Should().Be(6);
        // next token: entropy[2] + entropy[5] = 3 + 6 vs entropy[1..5] = 20 over 5
        c.NextEntropyAtPeaks.Should().Be(9); c.NextPeaks.Should().Be(2);
        c.NextEntropyAll.Should().Be(20); c.NextTokens.Should().Be(5);
        // FAI peaks 1 and 4 coincide with WAAD peaks → 2 of 2. Random: FAI-defined positions 0..4 with a WAAD peak in
        // [s−1, s]: 1 (peak 1), 2 (peak 1), 4 (peak 4) → 3 of 5.
        c.FaiPeaks.Should().Be(2); c.FaiPeaksCoupled.Should().Be(2);
        c.FaiPositions.Should().Be(5); c.FaiPositionsCoupled.Should().Be(3);
    }

    private static OptionValues With(params (string Key, object? Value)[] values) =>
        new(values.ToDictionary(v => v.Key, v => v.Value));

    [Theory]
    [InlineData("window", 0L)]
    [InlineData("window", "ten")]
    [InlineData("horizon_lo", -1L)]
    [InlineData("group_fraction", 0.6)]
    [InlineData("group_fraction", 0.0)]
    [InlineData("peak_quantile", 1.5)]
    [InlineData("top_fai_fraction", -0.1)]
    [InlineData("layer_count", 0L)]
    [InlineData("coupling_lag", -2L)]
    [InlineData("report_items", 2.5)]
    [InlineData("windows", 10L)]
    public void Bad_options_name_their_analysis_key(string key, object value)
    {
        var act = () => RhythmOptions.From(With((key, value)));
        act.Should().Throw<ArgumentException>().WithMessage($"analysis.{key}:*");
    }

    [Fact]
    public void Option_relations_and_layers_are_checked()
    {
        var hi = () => RhythmOptions.From(With(("horizon_lo", 20L), ("horizon_hi", 10L)));
        hi.Should().Throw<ArgumentException>().WithMessage("analysis.horizon_hi:*");
        var dup = () => RhythmOptions.From(With(("layers", new List<object?> { 1L, 1L })));
        dup.Should().Throw<ArgumentException>().WithMessage("analysis.layers:*twice*");
        var empty = () => RhythmOptions.From(With(("layers", new List<object?>())));
        empty.Should().Throw<ArgumentException>().WithMessage("analysis.layers:*");
        var notList = () => RhythmOptions.From(With(("layers", "1,2")));
        notList.Should().Throw<ArgumentException>().WithMessage("analysis.layers:*");
        var o = RhythmOptions.From(With(("layers", new List<object?> { 3L, 0L })));
        o.ResolveLayers(4).Should().Equal(0, 3);
        var outside = () => o.ResolveLayers(3);
        outside.Should().Throw<ArgumentException>().WithMessage("analysis.layers: layer 3 is outside*");
    }

    [Fact]
    public void Defaults_follow_the_spec()
    {
        var o = RhythmOptions.From(OptionValues.Empty);
        o.Window.Should().Be(10);
        (o.HorizonLo, o.HorizonHi).Should().Be((10, 100));
        o.GroupFraction.Should().Be(0.3);
        o.Layers.Should().BeNull();
        o.LayerCount.Should().Be(5);
        o.TopFaiFraction.Should().Be(0.4);
        // the specs' defaults are the ones From applies when a key is absent
        var specs = new ReasoningRhythmKind().Options.ToDictionary(s => s.Key);
        RhythmOptions.From(new OptionValues(specs.ToDictionary(kv => kv.Key, kv => kv.Value.Default))).Should().Be(o);
    }

    [Fact]
    public void The_plugin_registers_the_kind()
    {
        var services = new Microsoft.Extensions.DependencyInjection.ServiceCollection();
        new ReasoningRhythmPlugin().ConfigureServices(services);
        services.Should().ContainSingle(d => d.ServiceType == typeof(IRecipeKind) && d.ImplementationType == typeof(ReasoningRhythmKind)
            && d.Lifetime == Microsoft.Extensions.DependencyInjection.ServiceLifetime.Singleton);
        var kind = new ReasoningRhythmKind();
        kind.Name.Should().Be("reasoning-rhythm");
        kind.Inputs.Should().Be(RecipeKindInputs.Dataset | RecipeKindInputs.Prompt | RecipeKindInputs.Sampling);
    }
}
