using AttnEval.Abstractions;
using AttnEval.Core.Judges;

namespace AttnEval.Core.Tests.Judges;

public class BuiltInJudgesTests
{
    [Fact]
    public void All_lists_the_four_judges_of_the_recipe_vocabulary() =>
        BuiltInJudges.All.Select(j => j.Name).Should().Equal("exact", "numeric-final-answer", "alias-match", "rouge-l");

    [Fact]
    public void Every_factory_creates_a_judge_from_its_own_declared_defaults_and_with_no_options()
    {
        foreach (var f in BuiltInJudges.All)
        {
            f.Description.Should().NotBeNullOrWhiteSpace();
            f.Options.Select(o => o.Key).Should().OnlyHaveUniqueItems();
            foreach (var o in f.Options.Where(o => o.Default is not null))
            {
                var ok = o.Type switch
                {
                    OptionType.Boolean => o.Default is bool,
                    OptionType.Number => o.Default is double,
                    OptionType.String => o.Default is string s && (o.AllowedValues is null || o.AllowedValues.Contains(s)),
                    _ => false,
                };
                ok.Should().BeTrue($"{f.Name}.{o.Key} default {o.Default} must match its type {o.Type}");
            }
            var defaults = new OptionValues(f.Options.ToDictionary(o => o.Key, o => o.Default));
            f.Create(defaults).Name.Should().Be(f.Name);
            f.Create(OptionValues.Empty).Name.Should().Be(f.Name);
        }
    }

    [Fact]
    public void Rouge_threshold_default_is_the_spec_value() =>
        BuiltInJudges.All.Single(j => j.Name == "rouge-l").Options.Single(o => o.Key == "threshold").Default.Should().Be(0.5);
}
