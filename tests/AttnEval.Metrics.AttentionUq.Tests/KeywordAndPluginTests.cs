using AttnEval.Abstractions;
using Microsoft.Extensions.DependencyInjection;
using NSubstitute;

namespace AttnEval.Metrics.AttentionUq.Tests;

/// <summary>The keyword heuristic that replaces spaCy, and the plugin's registration.</summary>
public sealed class KeywordAndPluginTests
{
    [Theory]
    [InlineData("Rome", true)]
    [InlineData("was", false)]
    [InlineData("The", false)]
    [InlineData("capital", true)]
    [InlineData("1969", true)]
    [InlineData("3.14", true)]
    [InlineData("US", true)]
    [InlineData("us", false)]
    [InlineData("Italy's", true)]
    [InlineData("don’t", false)]
    [InlineData("", false)]
    public void Words_are_keywords_unless_they_are_function_words(string word, bool expected) =>
        KeywordHeuristic.IsKeyword(word).Should().Be(expected);

    /// <summary>A tokenizer over fixed token strings; id 99 is a special token that decodes to nothing.</summary>
    private static ITokenizer Pieces(params string[] pieces)
    {
        var tok = Substitute.For<ITokenizer>();
        tok.Decode(Arg.Any<IEnumerable<int>>()).Returns(c => string.Concat(c.Arg<IEnumerable<int>>().Select(i => i == 99 ? "" : pieces[i])));
        return tok;
    }

    [Fact]
    public void Tokens_take_the_flag_of_the_words_they_overlap()
    {
        // "The capital of France is Par|is, in 1789." + EOS
        var tok = Pieces("The", " capital", " of", " France", " is", " Par", "is", ",", " in", " 17", "89", ".", "\n");
        int[] ids = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 99];
        KeywordHeuristic.Compute(tok, ids).Should().Equal(
            false, true, false, true, false, true, true, false, false, true, true, false,
            false,   // "\n" is blank: inherits the "." before it
            false);  // EOS inherits too
        // an answer ending in a keyword counts its EOS (and a trailing blank) as a keyword, as LM-Polygraph's alignment does
        KeywordHeuristic.Compute(Pieces("Paris", " "), [0, 1, 99]).Should().Equal(true, true, true);
        KeywordHeuristic.Compute(Pieces(" "), [0, 99]).Should().Equal(false, false);
    }

    /// <summary>A minimal service collection (the concrete one lives in a package the plugin does not need).</summary>
    private sealed class Services : List<ServiceDescriptor>, IServiceCollection { }

    [Fact]
    public void The_plugin_registers_eight_estimators_that_build_with_their_defaults()
    {
        var services = new Services();
        var plugin = new AttentionUqPlugin();
        plugin.Name.Should().Be("attention-uq");
        plugin.ConfigureServices(services);
        var factories = services.Select(d => (ISampleEstimatorFactory)Activator.CreateInstance(d.ImplementationType!)!).ToList();
        factories.Select(f => f.Name).Should().Equal("rauq", "attention-score", "csl", "focus",
            "attention-entropy", "attention-recursive", "exp-attention-entropy", "exp-attention-recursive");
        services.Should().OnlyContain(d => d.ServiceType == typeof(ISampleEstimatorFactory) && d.Lifetime == ServiceLifetime.Singleton);
        foreach (var f in factories)
        {
            f.Kind.Should().Be(MetricKind.SampleEstimator);
            f.Description.Should().Contain("uq-attention-methods §");
            f.Options.Select(o => o.Key).Where(k => k != k.ToLowerInvariant() || k.Contains('-')).Should().BeEmpty("recipe keys are snake_case");
            // defaults as the recipe loader hands them over (long for integers), plus the required coef
            var values = f.Options.Where(o => o.Default is not null).ToDictionary(o => o.Key, o => o.Default is int i ? (long)i : o.Default);
            if (f.Name.StartsWith("exp-", StringComparison.Ordinal)) values["coef"] = 0.9;
            f.Create(new OptionValues(values)).Should().NotBeNull();
        }
    }
}
