using AttnEval.Abstractions;
using AttnEval.Plugins.Sdk;

namespace AttnEval.Plugins.Sdk.Tests;

public enum Variant
{
    EnsMarginal,
    AttnProd,
    [OptionName("l2")] L2Norm,
}

public enum AnswerRule { Number, Boxed, LastLine }

public sealed record AllTypes
{
    [Option("top_heads", "heads kept", Min = 1)] public int TopHeads { get; init; } = 16;
    [Option("seed", "a long", Min = 0, Max = 1000)] public long Seed { get; init; } = 7;
    [Option("threshold", "tau", Min = 0, Max = 1)] public double Threshold { get; init; } = 0.5;
    [Option("ratio", "a float")] public float Ratio { get; init; } = 0.25f;
    [Option("quirks", "parity")] public bool Quirks { get; init; }
    [Option("label", "any string")] public string Label { get; init; } = "x";
    [Option("mode", "a closed string", Allowed = ["hidden", "attention"])] public string Mode { get; init; } = "hidden";
    [Option("stop", "stop strings")] public IReadOnlyList<string>? Stop { get; init; }
    [Option("layers", "layers", Min = 0)] public int[]? Layers { get; init; }
    [Option("weights", "weights")] public List<double> Weights { get; init; } = [0.5, 1.0];
    [Option("template_file", "a file", FilePath = true)] public string? TemplateFile { get; init; }
    [Option("corpus", "a file or keyword", FilePath = true, Allowed = ["dataset"])] public string Corpus { get; init; } = "dataset";
    [Option("haystack", "a folder", FolderPath = true)] public string? Haystack { get; init; }
    public int NotAnOption { get; init; } = 3;
    [Option("coef", "required", Min = 0, Required = true)] public double? Coef { get; init; }
    [Option("max_tokens", "nullable int")] public int? MaxTokens { get; init; }
}

public sealed record WithEnums
{
    [Option("variant", "reported confidence")] public Variant Variant { get; init; } = Variant.AttnProd;
    [Option("answer_format", "answer rule", Naming = OptionNaming.KebabCase)] public AnswerRule Answer { get; init; } = AnswerRule.LastLine;
    [Option("maybe", "a nullable enum")] public AnswerRule? Maybe { get; init; }
    [Option("rules", "an enum list")] public IReadOnlyList<AnswerRule> Rules { get; init; } = [AnswerRule.Boxed];
}

public class BaseOptions
{
    [Option("first", "declared in the base")] public int First { get; set; } = 1;
}

public sealed class DerivedOptions : BaseOptions
{
    [Option("second", "declared in the derived")] public int Second { get; set; } = 2;
}

public sealed record Unsupported
{
    [Option("fine", "ok")] public int Fine { get; init; }
    [Option("when", "a date")] public DateTime When { get; init; }
}

public sealed record DuplicateKey
{
    [Option("k", "one")] public int A { get; init; }
    [Option("k", "two")] public int B { get; init; }
}

public sealed record ReadOnlyOption
{
    [Option("k", "no setter")] public int A => 3;
}

public sealed record AllowedOnInt
{
    [Option("k", "bad", Allowed = ["1"])] public int A { get; init; }
}

public sealed record RangeOnString
{
    [Option("k", "bad", Min = 1)] public string A { get; init; } = "";
}

public sealed class OptionBinderTests
{
    private static OptionValues Values(params (string Key, object? Value)[] values) =>
        new(values.ToDictionary(v => v.Key, v => v.Value));

    [Fact]
    public void Specs_give_every_option_type_default_range_and_flags_in_declaration_order()
    {
        var specs = OptionBinder.Specs<AllTypes>();

        specs.Select(s => (s.Key, s.Type)).Should().Equal(
            ("top_heads", OptionType.Integer), ("seed", OptionType.Integer), ("threshold", OptionType.Number), ("ratio", OptionType.Number),
            ("quirks", OptionType.Boolean), ("label", OptionType.String), ("mode", OptionType.String), ("stop", OptionType.StringList),
            ("layers", OptionType.IntegerList), ("weights", OptionType.NumberList), ("template_file", OptionType.FilePath),
            ("corpus", OptionType.FilePath), ("haystack", OptionType.FolderPath), ("coef", OptionType.Number), ("max_tokens", OptionType.Integer));
        var byKey = specs.ToDictionary(s => s.Key);
        byKey["top_heads"].Should().Be(new OptionSpec("top_heads", OptionType.Integer, 16L, "heads kept") { Min = 1 });
        byKey["seed"].Should().Be(new OptionSpec("seed", OptionType.Integer, 7L, "a long") { Min = 0, Max = 1000 });
        byKey["threshold"].Should().Be(new OptionSpec("threshold", OptionType.Number, 0.5, "tau") { Min = 0, Max = 1 });
        byKey["ratio"].Default.Should().Be(0.25);
        byKey["quirks"].Should().Be(new OptionSpec("quirks", OptionType.Boolean, false, "parity"));
        byKey["label"].Should().Be(new OptionSpec("label", OptionType.String, "x", "any string"));
        byKey["mode"].AllowedValues.Should().Equal("hidden", "attention");
        byKey["stop"].Default.Should().BeNull();
        byKey["layers"].Min.Should().Be(0);
        byKey["weights"].Default.Should().BeOfType<List<double>>().Which.Should().Equal(0.5, 1.0);
        byKey["template_file"].Default.Should().BeNull();
        byKey["corpus"].Default.Should().Be("dataset");
        byKey["corpus"].AllowedValues.Should().Equal("dataset");
        byKey["coef"].Required.Should().BeTrue();
        byKey["coef"].Default.Should().BeNull();
        byKey["max_tokens"].Default.Should().BeNull();
        specs.Where(s => s.Key != "coef").Should().OnlyContain(s => !s.Required);
        specs.Where(s => s.Key is not ("mode" or "corpus")).Should().OnlyContain(s => s.AllowedValues == null);
    }

    [Fact]
    public void A_property_without_the_attribute_is_not_an_option()
    {
        OptionBinder.Specs<AllTypes>().Select(s => s.Key).Should().NotContain(k => k.Contains("not", StringComparison.Ordinal));
        var bound = OptionBinder.Bind<AllTypes>(Values(("coef", 0.9), ("NotAnOption", 9L), ("not_an_option", 9L)));
        bound.NotAnOption.Should().Be(3);
    }

    [Fact]
    public void Specs_are_cached()
    {
        OptionBinder.Specs<AllTypes>().Should().BeSameAs(OptionBinder.Specs<AllTypes>());
    }

    [Fact]
    public void Bind_sets_present_values_and_keeps_initializers_for_absent_or_null_ones()
    {
        var bound = OptionBinder.Bind<AllTypes>(Values(
            ("top_heads", 4L), ("seed", 123L), ("threshold", 0.75), ("ratio", 0.5), ("quirks", true), ("label", "y"), ("mode", "attention"),
            ("stop", new List<string> { "\n", "##" }), ("layers", new List<long> { 3, 5 }), ("weights", new List<double> { 2.0 }),
            ("template_file", "/tmp/t.txt"), ("corpus", null), ("coef", 0.9), ("max_tokens", 64L)));

        bound.Should().BeEquivalentTo(new AllTypes
        {
            TopHeads = 4, Seed = 123, Threshold = 0.75, Ratio = 0.5f, Quirks = true, Label = "y", Mode = "attention", Stop = ["\n", "##"],
            Layers = [3, 5], Weights = [2.0], TemplateFile = "/tmp/t.txt", Corpus = "dataset", Haystack = null, Coef = 0.9, MaxTokens = 64,
        });
        bound.Layers.Should().BeOfType<int[]>();
        bound.Stop.Should().BeOfType<List<string>>();
    }

    [Fact]
    public void Bind_takes_the_loaders_normalized_defaults_and_returns_the_declared_defaults()
    {
        // The recipe loader fills absent keys from the specs' defaults; binding those gives the initializers back.
        var specs = OptionBinder.Specs<WithEnums>();
        var values = Values(specs.Where(s => s.Default is not null).Select(s => (s.Key, (object?)s.Default)).ToArray());
        OptionBinder.Bind<WithEnums>(values).Should().BeEquivalentTo(new WithEnums());
    }

    [Fact]
    public void A_required_option_without_a_value_is_an_error()
    {
        var act = () => OptionBinder.Bind<AllTypes>(OptionValues.Empty);
        act.Should().Throw<KeyNotFoundException>().WithMessage("option 'coef' is not set");
    }

    [Fact]
    public void Enums_are_strings_whose_allowed_values_are_the_members_in_snake_or_kebab_case_or_their_option_name()
    {
        var specs = OptionBinder.Specs<WithEnums>().ToDictionary(s => s.Key);

        specs["variant"].Should().BeEquivalentTo(new { Type = OptionType.String, Default = "attn_prod" });
        specs["variant"].AllowedValues.Should().Equal("ens_marginal", "attn_prod", "l2");
        specs["answer_format"].Default.Should().Be("last-line");
        specs["answer_format"].AllowedValues.Should().Equal("number", "boxed", "last-line");
        specs["maybe"].Default.Should().BeNull();
        specs["maybe"].AllowedValues.Should().Equal("number", "boxed", "last_line");
        specs["rules"].Type.Should().Be(OptionType.StringList);
        specs["rules"].Default.Should().BeOfType<List<string>>().Which.Should().Equal("boxed");
        specs["rules"].AllowedValues.Should().Equal("number", "boxed", "last_line");

        var bound = OptionBinder.Bind<WithEnums>(Values(("variant", "l2"), ("answer_format", "boxed"), ("maybe", "last_line"),
            ("rules", new List<string> { "number", "last_line" })));
        bound.Should().BeEquivalentTo(new WithEnums { Variant = Variant.L2Norm, Answer = AnswerRule.Boxed, Maybe = AnswerRule.LastLine, Rules = [AnswerRule.Number, AnswerRule.LastLine] });
        OptionBinder.OptionName(Variant.EnsMarginal).Should().Be("ens_marginal");
        OptionBinder.OptionName(AnswerRule.LastLine, OptionNaming.KebabCase).Should().Be("last-line");
    }

    [Fact]
    public void A_value_that_does_not_fit_names_the_option()
    {
        var act = () => OptionBinder.Bind<WithEnums>(Values(("variant", "nope")));
        act.Should().Throw<ArgumentException>().WithMessage("option 'variant': 'nope' does not fit Variant ('nope' is not one of ens_marginal, attn_prod, l2)");
        var overflow = () => OptionBinder.Bind<AllTypes>(Values(("coef", 1.0), ("top_heads", 1L << 40)));
        overflow.Should().Throw<ArgumentException>().WithMessage("option 'top_heads': *");
    }

    [Fact]
    public void Base_class_options_come_first()
    {
        OptionBinder.Specs<DerivedOptions>().Select(s => (s.Key, s.Default)).Should().Equal(("first", (object?)1L), ("second", 2L));
        var bound = OptionBinder.Bind<DerivedOptions>(Values(("first", 10L)));
        (bound.First, bound.Second).Should().Be((10, 2));
    }

    [Theory]
    [InlineData(typeof(Unsupported), "*property When (option 'when'): property type DateTime is not an option type*")]
    [InlineData(typeof(DuplicateKey), "*property B (option 'k'): the key is declared twice*")]
    [InlineData(typeof(ReadOnlyOption), "*property A (option 'k'): the property needs a public set or init accessor*")]
    [InlineData(typeof(AllowedOnInt), "*property A (option 'k'): Allowed needs a string*")]
    [InlineData(typeof(RangeOnString), "*property A (option 'k'): Min/Max need a number*")]
    public void A_bad_declaration_throws_a_clear_error_naming_the_property(Type options, string message)
    {
        var specs = typeof(OptionBinder).GetMethod(nameof(OptionBinder.Specs))!.MakeGenericMethod(options);
        var act = () => specs.Invoke(null, null);
        act.Should().Throw<System.Reflection.TargetInvocationException>()
            .WithInnerException<InvalidOperationException>().WithMessage(message);
    }

    [Theory]
    [InlineData("EnsMarginal", "ens_marginal")]
    [InlineData("L2Norm", "l2_norm")]
    [InlineData("HTTPServer", "http_server")]
    [InlineData("Whole", "whole")]
    public void Snake_case_of_member_names(string name, string expected) =>
        OptionBinder.Words(name, '_').Should().Be(expected);
}

public class SharedLast
{
    [Option("shared", "listed last", Order = 1)] public bool Shared { get; set; } = true;
}

public sealed class OwnFirst : SharedLast
{
    [Option("own", "listed first")] public string Own { get; set; } = "a";
}

public sealed class OrderTests
{
    [Fact]
    public void Order_puts_inherited_options_after_the_class_own() =>
        OptionBinder.Specs<OwnFirst>().Select(s => s.Key).Should().Equal("own", "shared");
}

public sealed record Checked
{
    [Option("top_k", "k", Min = 1)] public int TopK { get; init; } = 20;
    [Option("tau", "tau", Min = 0, Max = 1)] public double Tau { get; init; } = 0.1;
    [Option("cap", "cap", Max = 10)] public int Cap { get; init; } = 3;
    [Option("mode", "mode")] public AnswerRule Mode { get; init; }
    [Option("layers", "layers", Min = 0)] public IReadOnlyList<int> Layers { get; init; } = [];
}

public sealed class CheckedBindTests
{
    private static OptionValues O(string key, object value) => new(new Dictionary<string, object?> { [key] = value });

    [Theory]
    [InlineData("top_k", 0L, "metrics.m.top_k: 0 is out of range (≥ 1)")]
    [InlineData("tau", 1.5, "metrics.m.tau: 1.5 is out of range [0, 1]")]
    [InlineData("tau", double.NaN, "metrics.m.tau: NaN is out of range [0, 1]")]
    [InlineData("cap", 11L, "metrics.m.cap: 11 is out of range (≤ 10)")]
    [InlineData("mode", "paragraph", "metrics.m.mode: 'paragraph' is not one of number, boxed, last_line")]
    [InlineData("top_k", 1L << 40, "metrics.m.top_k: 1099511627776 does not fit Int32*")]
    public void With_an_error_prefix_values_are_checked_against_their_specs(string key, object value, string message)
    {
        var act = () => OptionBinder.Bind<Checked>(O(key, value), "metrics.m.");
        act.Should().Throw<ArgumentException>().WithMessage(message);
    }

    [Fact]
    public void List_elements_are_checked_too_and_an_empty_list_initializer_declares_no_default()
    {
        var act = () => OptionBinder.Bind<Checked>(O("layers", new List<long> { 2, -1 }), "metrics.m.");
        act.Should().Throw<ArgumentException>().WithMessage("metrics.m.layers: -1 is out of range (≥ 0)");
        OptionBinder.Specs<Checked>().Single(s => s.Key == "layers").Default.Should().BeNull();
        OptionBinder.Bind<Checked>(OptionValues.Empty, "metrics.m.").Layers.Should().BeEmpty();
    }

    [Fact]
    public void Without_a_prefix_values_are_trusted() =>
        OptionBinder.Bind<Checked>(O("top_k", 0L)).TopK.Should().Be(0);
}
