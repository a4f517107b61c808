using AttnEval.Core.Kinds;
using AttnEval.Core.Recipes;

namespace AttnEval.Core.Tests.Recipes;

public sealed class RecipeLoaderTests : IDisposable
{
    private readonly RecipeFolder _dir = new();

    public void Dispose() => _dir.Dispose();

    private const string Minimal = """
        name: minimal
        model: { path: ../model }
        dataset: { path: ../data/items.jsonl }
        metrics: [msp]
        """;

    [Fact]
    public void Loads_the_design_example_with_every_value()
    {
        var file = _dir.Write("recipes/uqac.yaml", """
            name: uqac-gsm8k
            kind: uncertainty
            description: UQAC on a few items
            model: { path: ../model, backend: onnx, device: "cuda:1", dtype: bfloat16, options: { threads: 4, fast: true } }
            dataset: { path: ../data/items.jsonl, format: jsonl, input: question, target: answer, id: uid, limit: 200, seed: 7, shuffle: true }
            prompt: { template: "Question: {{question}}\nAnswer:", chat: chatml, system: Be brief. }
            generation: { max_new_tokens: 64, temperature: 0.5, top_p: 0.9, top_k: 40, seed: 7, samples: 5, sample_temperature: 0.8, stop: ["\n\n", "####"] }
            judge: { kind: numeric-final-answer, tolerance: 0.01 }
            metrics: [ msp, perplexity, mean-token-entropy, { name: uqac, top_heads: 8 } ]
            evaluation: { metrics: [auroc, prr, ece, brier, auarc], bootstrap: 500, confidence_level: 0.9, ece_bins: 15, seed: 3 }
            output: { dir: ../out }
            """);

        var r = _dir.Loader().Load(file, []);

        r.Name.Should().Be("uqac-gsm8k");
        r.Kind.Should().Be(BuiltInKinds.Uncertainty);
        r.Description.Should().Be("UQAC on a few items");
        r.Model.Path.Should().Be(_dir.P("model"));
        (r.Model.Backend, r.Model.Device, r.Model.DType).Should().Be(("onnx", "cuda:1", "bfloat16"));
        r.Model.Tokenizer.Should().BeNull();
        r.Model.Options.Should().BeEquivalentTo(new Dictionary<string, string> { ["threads"] = "4", ["fast"] = "true" });
        r.Dataset.Should().Be(new Datasets.DatasetSpec(_dir.P("data/items.jsonl"), "jsonl", "question", "answer", "uid", 200, 7, true));
        r.Prompt.Should().Be(new PromptSpec("Question: {{question}}\nAnswer:", ChatFormat.ChatMl, "Be brief."));
        r.Generation.Should().BeEquivalentTo(new GenerationSpec(64, 0.5, 0.9, 40, 7, 5, 0.8, ["\n\n", "####"]));
        r.Judge!.Kind.Should().Be("numeric-final-answer");
        r.Judge.Options.GetDouble("tolerance").Should().Be(0.01);
        r.Metrics.Select(m => m.Name).Should().Equal("msp", "perplexity", "mean-token-entropy", "uqac");
        r.Metrics[3].Options.Values["top_heads"].Should().Be(8L);
        r.Evaluation.Should().BeEquivalentTo(new EvaluationSpec(["auroc", "prr", "ece", "brier", "auarc"], 500, 0.9, 15, 3));
        r.OutputDir.Should().Be(_dir.P("out"));
        r.SourceFile.Should().Be(file);
        r.Analysis.Should().BeEmpty();
    }

    [Fact]
    public void Evaluation_ties_selects_the_tie_convention_and_round_trips()
    {
        var loader = _dir.Loader();
        loader.Load(_dir.Write("recipes/t0.yaml", Minimal), []).Evaluation.Ties.Should().Be(AttnEval.Core.Evaluation.TieBreaking.Expected);
        var stable = loader.Load(_dir.Write("recipes/t1.yaml", Minimal + "\nevaluation: { ties: stable }"), []);
        stable.Evaluation.Ties.Should().Be(AttnEval.Core.Evaluation.TieBreaking.Stable);
        loader.Load(_dir.Write("elsewhere/t1.resolved.yaml", stable.ToResolvedYaml()), []).Evaluation.Ties.Should().Be(AttnEval.Core.Evaluation.TieBreaking.Stable);
        var bad = () => loader.Load(_dir.Write("recipes/t2.yaml", Minimal + "\nevaluation: { ties: random }"), []);
        bad.Should().Throw<RecipeException>().WithMessage("*evaluation.ties: 'random' is not one of expected, stable*");
    }

    [Fact]
    public void Evaluation_interval_selects_the_bootstrap_interval_and_round_trips()
    {
        var loader = _dir.Loader();
        loader.Load(_dir.Write("recipes/i0.yaml", Minimal), []).Evaluation.Interval.Should().Be(AttnEval.Core.Evaluation.IntervalMethod.Centered);
        var pct = loader.Load(_dir.Write("recipes/i1.yaml", Minimal + "\nevaluation: { interval: percentile }"), []);
        pct.Evaluation.Interval.Should().Be(AttnEval.Core.Evaluation.IntervalMethod.Percentile);
        loader.Load(_dir.Write("elsewhere/i1.resolved.yaml", pct.ToResolvedYaml()), []).Evaluation.Interval.Should().Be(AttnEval.Core.Evaluation.IntervalMethod.Percentile);
        var bad = () => loader.Load(_dir.Write("recipes/i2.yaml", Minimal + "\nevaluation: { interval: bca }"), []);
        bad.Should().Throw<RecipeException>().WithMessage("*evaluation.interval: 'bca' is not one of centered, percentile*");
    }

    [Fact]
    public void Applies_defaults()
    {
        var r = _dir.Loader().Load(_dir.Write("recipes/min.yaml", Minimal.Replace("metrics: [msp]", "metrics:\n  - uqac")), []);

        r.Kind.Should().Be(BuiltInKinds.Uncertainty);
        r.Model.Should().BeEquivalentTo(new { Path = _dir.P("model"), Backend = "torchsharp", Device = "cpu", DType = "float32", Tokenizer = (string?)null });
        r.Dataset!.Format.Should().Be("jsonl", "inferred from the extension");
        (r.Dataset.Input, r.Dataset.Target, r.Dataset.Id, r.Dataset.Limit, r.Dataset.Seed, r.Dataset.Shuffle)
            .Should().Be(("question", "answer", (string?)null, (int?)null, 0L, false));
        r.Prompt.Should().Be(new PromptSpec("{{question}}", ChatFormat.None, null));
        r.Generation.Should().BeEquivalentTo(new GenerationSpec(256, 0, 1, 0, 0, 0, 1.0, []));
        r.Judge.Should().BeNull();
        r.Evaluation.Should().BeEquivalentTo(new EvaluationSpec(["auroc", "auprc", "prr", "prr50", "ece", "brier", "auarc"], 1000, 0.95, 20, 0));
        r.OutputDir.Should().Be(Path.Combine(_dir.WorkDir, "runs"));

        var uqac = r.Metrics.Single().Options;
        uqac.Values.Keys.Should().Equal("top_heads", "aggregation", "alpha", "use_prompt");
        uqac.Values["top_heads"].Should().Be(16L);
        uqac.Values["alpha"].Should().Be(1.0, "an int default of a Number option becomes a double");
        uqac.GetString("aggregation").Should().Be("mean");
        uqac.GetBool("use_prompt").Should().BeFalse();
        uqac.Has("layers").Should().BeFalse();
    }

    [Fact]
    public void Default_template_uses_the_dataset_input_field()
    {
        var r = _dir.Loader().Load(_dir.Write("recipes/r.yaml", Minimal.Replace("items.jsonl }", "items.jsonl, input: problem.text }")), []);
        r.Prompt.Template.Should().Be("{{problem.text}}");
    }

    [Fact]
    public void Include_merges_maps_deeply_replaces_lists_and_the_including_file_wins()
    {
        _dir.Write("recipes/base/common.yaml", """
            model: { path: ../../model, dtype: float16 }
            dataset: { path: ../../data/items.jsonl, limit: 50, seed: 1 }
            generation: { max_new_tokens: 128, stop: ["a", "b"] }
            metrics: [msp, perplexity]
            """);
        _dir.Write("recipes/base/eval.yaml", """
            evaluation: { bootstrap: 10 }
            generation: { seed: 9 }
            """);
        var file = _dir.Write("recipes/child.yaml", """
            include: [base/common.yaml, base/eval.yaml]
            name: child
            dataset: { limit: ~, shuffle: true }
            generation: { stop: ["c"] }
            metrics: [uqac]
            """);

        var r = _dir.Loader().Load(file, []);

        r.Model.Path.Should().Be(_dir.P("model"), "paths in an included file resolve against that file's folder");
        r.Model.DType.Should().Be("float16");
        r.Dataset!.Limit.Should().BeNull("null in the including file resets the key to its default");
        (r.Dataset.Seed, r.Dataset.Shuffle).Should().Be((1L, true));
        r.Generation.MaxNewTokens.Should().Be(128);
        r.Generation.Seed.Should().Be(9);
        r.Generation.Stop.Should().Equal("c");
        r.Metrics.Select(m => m.Name).Should().Equal("uqac");
        r.Evaluation.Bootstrap.Should().Be(10);
    }

    [Fact]
    public void Later_includes_win_over_earlier_ones()
    {
        _dir.Write("recipes/a.yaml", "generation: { top_k: 1, seed: 1 }\n");
        _dir.Write("recipes/b.yaml", "generation: { top_k: 2 }\n");
        var r = _dir.Loader().Load(_dir.Write("recipes/r.yaml", "include: [a.yaml, b.yaml]\n" + Minimal), []);
        (r.Generation.TopK, r.Generation.Seed).Should().Be((2, 1L));
    }

    [Fact]
    public void Errors_in_a_value_from_an_included_file_name_that_file()
    {
        _dir.Write("recipes/base.yaml", "generation:\n  top_p: 7\n");
        var e = _dir.Fails(_dir.Write("recipes/r.yaml", "include: base.yaml\n" + Minimal));
        e.Errors.Should().ContainSingle().Which.Should().Be(new RecipeError(_dir.P("recipes/base.yaml"), 2, 10, "generation.top_p: 7 is out of range (0, 1]"));
    }

    [Fact]
    public void A_file_that_includes_itself_is_a_cycle()
    {
        var file = _dir.Write("recipes/self.yaml", "name: x\ninclude: self.yaml\n");
        _dir.Fails(file).Errors.Should().ContainSingle().Which.Should()
            .Be(new RecipeError(file, 2, 10, "include: 'self.yaml' makes a cycle (self.yaml -> self.yaml)"));
    }

    [Fact]
    public void The_same_file_included_twice_without_a_cycle_is_fine()
    {
        _dir.Write("recipes/shared.yaml", "generation: { seed: 5 }\n");
        _dir.Write("recipes/a.yaml", "include: shared.yaml\n");
        _dir.Write("recipes/b.yaml", "include: shared.yaml\n");
        _dir.Loader().Load(_dir.Write("recipes/r.yaml", "include: [a.yaml, b.yaml]\n" + Minimal), []).Generation.Seed.Should().Be(5);
    }

    [Fact]
    public void Overrides_set_scalars_lists_maps_and_list_items()
    {
        var file = _dir.Write("recipes/r.yaml", Minimal.Replace("[msp]", "[msp, { name: uqac, top_heads: 4 }]"));

        var r = _dir.Loader().Load(file,
        [
            "dataset.limit=5",
            "generation.stop=[\"\\n\", END]",
            "metrics.1.aggregation=max",
            "judge={kind: exact, ignore_case: false}",
            "model.options.threads=8",
            "output.dir=",
        ]);

        r.Dataset!.Limit.Should().Be(5);
        r.Generation.Stop.Should().Equal("\n", "END");
        r.Metrics[1].Options.GetString("aggregation").Should().Be("max");
        r.Metrics[1].Options.GetInt("top_heads").Should().Be(4);
        r.Judge!.Options.GetBool("ignore_case").Should().BeFalse();
        r.Model.Options["threads"].Should().Be("8");
        r.OutputDir.Should().Be(Path.Combine(_dir.WorkDir, "runs"), "an empty value is null, which means the default");

        _dir.Loader().Load(file, ["metrics=[msp,perplexity]"]).Metrics.Select(m => m.Name).Should().Equal("msp", "perplexity");
    }

    [Fact]
    public void Overrides_apply_in_order_after_includes()
    {
        _dir.Write("recipes/base.yaml", "generation: { seed: 1 }\n");
        var r = _dir.Loader().Load(_dir.Write("recipes/r.yaml", "include: base.yaml\n" + Minimal), ["generation.seed=2", "generation.seed=3"]);
        r.Generation.Seed.Should().Be(3);
    }

    [Theory]
    [InlineData("dataset.limit", "--set 'dataset.limit': expected key.path=value")]
    [InlineData("=5", "--set '=5': expected key.path=value")]
    [InlineData("dataset..limit=5", "--set 'dataset..limit=5': 'dataset..limit' is not a dotted key path")]
    [InlineData("metrics=[msp", "--set 'metrics=[msp': YAML syntax error")]
    [InlineData("name.x=1", "--set 'name.x=1': 'name' is not a map")]
    [InlineData("metrics.5.top_heads=1", "--set 'metrics.5.top_heads=1': 'metrics' is a list of 1; '5' is not an index in it")]
    [InlineData("generation.temprature=1", "--set 'generation.temprature=1': unknown key 'temprature' in generation; did you mean 'temperature'?")]
    [InlineData("generation.top_p=2", "--set 'generation.top_p=2': generation.top_p: 2 is out of range (0, 1]")]
    [InlineData("metrics=[msq]", "--set 'metrics=[msq]': unknown metric 'msq'; did you mean 'msp'?")]
    [InlineData("generation.seed=!foo 1", "--set 'generation.seed=!foo 1': tag '!foo' is not allowed")]
    public void A_bad_override_names_set_and_its_text(string text, string message)
    {
        var e = _dir.Fails(_dir.Write("recipes/r.yaml", Minimal), "dataset.seed=1", text);
        var error = e.Errors.Should().ContainSingle().Which;
        (error.File, error.Line, error.Column).Should().Be((RecipeError.CommandLine, 0, 2));
        error.Message.Should().StartWith(message);
        error.ToString().Should().StartWith("<command line>:0:2: --set '");
    }

    [Fact]
    public void Include_cannot_be_set_from_the_command_line()
    {
        _dir.Fails(_dir.Write("recipes/r.yaml", Minimal), "include=x.yaml").Errors.Single().Message
            .Should().Be("--set 'include=x.yaml': include cannot be set from the command line");
    }

    [Fact]
    public void Resolved_yaml_round_trips_to_the_same_hash()
    {
        _dir.Write("recipes/base.yaml", "model: { path: ../model, options: { threads: \"4\", mode: fast } }\n");
        var file = _dir.Write("recipes/r.yaml", """
            include: base.yaml
            name: round-trip
            kind: uncertainty
            description: "yes"
            dataset: { path: ../data/items.jsonl, target: null, id: uid }
            prompt: { template: "Q: {{ question }}\n\nA:", chat: llama3, system: "true" }
            generation: { temperature: 1, stop: ["\n", "null"] }
            judge: exact
            metrics: [msp, { name: uqac, alpha: 2, layers: [0, 3], aggregation: sum }]
            evaluation: { metrics: [ece, auroc], confidence_level: 0.99 }
            """);
        var loader = _dir.Loader();

        var r = loader.Load(file, ["generation.seed=11"]);
        var yaml = r.ToResolvedYaml();
        var resolvedFile = _dir.Write("elsewhere/recipe.resolved.yaml", yaml);
        var again = loader.Load(resolvedFile, []);

        again.ToResolvedYaml().Should().Be(yaml);
        again.Hash.Should().Be(r.Hash).And.MatchRegex("^[0-9a-f]{64}$");
        Recipe.HashOf(File.ReadAllText(resolvedFile)).Should().Be(r.Hash);
        again.Description.Should().Be("yes");
        again.Dataset!.Target.Should().BeNull("an explicit null target means no target, and is written as null");
        again.Prompt.System.Should().Be("true");
        again.Model.Options.Should().BeEquivalentTo(new Dictionary<string, string> { ["threads"] = "4", ["mode"] = "fast" });
        again.Generation.Stop.Should().Equal("\n", "null");
        again.Generation.Temperature.Should().Be(1.0);
        again.Metrics[1].Options.Values["layers"].Should().BeEquivalentTo(new[] { 0L, 3L });
        again.Judge!.Options.GetBool("ignore_case").Should().BeTrue();

        yaml.Should().StartWith("name: round-trip\nkind: uncertainty\ndescription: \"yes\"\nmodel:\n  path: ");
        yaml.Should().Contain("\ngeneration:\n  max_new_tokens: 256\n  temperature: 1.0\n  top_p: 1.0\n  top_k: 0\n  seed: 11\n");
        yaml.Should().Contain("\n  target: null\n");
        yaml.Should().Contain("\nmetrics:\n- name: msp\n- name: uqac\n  aggregation: sum\n  alpha: 2.0\n  layers:\n  - 0\n  - 3\n  top_heads: 16\n  use_prompt: false\n");
        yaml.Should().NotContain("include");
    }

    [Fact]
    public void The_hash_changes_when_the_recipe_changes()
    {
        var file = _dir.Write("recipes/r.yaml", Minimal);
        var loader = _dir.Loader();
        loader.Load(file, []).Hash.Should().Be(loader.Load(file, []).Hash);
        loader.Load(file, ["dataset.limit=3"]).Hash.Should().NotBe(loader.Load(file, []).Hash);
    }

    [Fact]
    public void Analysis_round_trips_and_metric_entries_are_validated()
    {
        var file = _dir.Write("recipes/heads.yaml", """
            name: heads
            kind: head-attribution
            model: { path: ../model }
            metrics: [{ name: retrieval-heads, needle: "the key is" }]
            analysis:
              retrieval-heads: { top_k: 5 }
              probes: { count: 12, lengths: [128, 256], ratio: 0.5, label: "007", on: true, none: null }
            """);
        var loader = _dir.Loader();

        var r = loader.Load(file, []);

        r.Dataset.Should().BeNull("head-attribution recipes may build their own probes");
        r.AnalysisOptions("retrieval-heads").GetInt("top_k").Should().Be(5);
        r.AnalysisOptions("retrieval-heads").Values["thresholds"].Should().BeEquivalentTo(new[] { 0.1, 0.5 });
        var probes = (IReadOnlyDictionary<string, object?>)r.Analysis["probes"]!;
        probes["count"].Should().Be(12L);
        probes["lengths"].Should().BeEquivalentTo(new object[] { 128L, 256L });
        probes["ratio"].Should().Be(0.5);
        probes["label"].Should().Be("007");
        probes["on"].Should().Be(true);
        probes["none"].Should().BeNull();

        var again = loader.Load(_dir.Write("recipes/resolved.yaml", r.ToResolvedYaml()), []);
        again.Hash.Should().Be(r.Hash);
        ((IReadOnlyDictionary<string, object?>)again.Analysis["probes"]!)["label"].Should().Be("007");

        var bad = _dir.Fails(_dir.Write("recipes/bad.yaml", File.ReadAllText(file).Replace("{ top_k: 5 }", "{ top_k: 0, needle: x, extra: 1 }")));
        bad.Errors.Select(e => (e.Line, e.Column, e.Message)).Should().Equal(
            (6, 29, "analysis.retrieval-heads.top_k: 0 is out of range [1, inf)"),
            (6, 43, "unknown key 'extra' in analysis.retrieval-heads (known: top_k, needle, thresholds)"));
    }

    [Fact]
    public void Analysis_is_refused_for_uncertainty_recipes()
    {
        var e = _dir.Fails(_dir.Write("recipes/r.yaml", Minimal + "\nanalysis: { x: 1 }\n"));
        e.Errors.Should().ContainSingle().Which.Should().Match<RecipeError>(x => x.Line == 5 && x.Column == 1 && x.Message.StartsWith("analysis: kind 'uncertainty' does not use"));
    }

    [Fact]
    public void Option_types_ranges_allowed_values_and_required_options_come_from_the_catalog()
    {
        var file = _dir.Write("recipes/r.yaml", """
            name: options
            model: { path: ../model }
            dataset: { path: ../data/items.jsonl }
            judge: { kind: exact, ignore_case: maybe, strict: true }
            metrics:
              - { name: uqac, top_heads: many, aggregation: meen, alpha: -1, layers: [1, x], use_prompt: 1 }
            """);

        var errors = _dir.Fails(file).Errors.Select(e => $"{e.Line}:{e.Column}: {e.Message}").ToList();

        errors.Should().Equal(
            "4:36: judge.ignore_case: expected true or false, got 'maybe'",
            "4:43: unknown key 'strict' in judge (known: kind, ignore_case)",
            "6:30: metrics.uqac.top_heads: expected an integer, got 'many'",
            "6:49: metrics.uqac.aggregation: 'meen' is not one of mean, max, sum; did you mean 'mean'?",
            "6:62: metrics.uqac.alpha: -1 is out of range [0, inf)",
            "6:78: metrics.uqac.layers[1]: expected an integer, got 'x'",
            "6:94: metrics.uqac.use_prompt: expected true or false, got '1'");
    }

    [Fact]
    public void A_required_option_that_is_missing_is_reported_at_the_metric()
    {
        var e = _dir.Fails(_dir.Write("recipes/r.yaml", """
            name: heads
            kind: head-attribution
            model: { path: ../model }
            metrics:
              - name: retrieval-heads
                thresholds: [0.2, 1.5]
            """));
        e.Errors.Select(x => $"{x.Line}:{x.Column}: {x.Message}").Should().Equal(
            "6:23: metrics.retrieval-heads.thresholds[1]: 1.5 is out of range [0, 1]",
            "5:5: metrics.retrieval-heads: option 'needle' is required (needle text)");
    }

    [Fact]
    public void Several_defects_are_all_reported_in_one_exception()
    {
        var file = _dir.Write("recipes/r.yaml", """
            name: many bad things
            kind: uncertanty
            modle: { path: ../model }
            metrics: [msp]
            generation: { samples: -1, stop: [""] }
            evaluation: { metrics: [aurok, ece, ece] }
            """);

        var e = _dir.Fails(file);

        e.Errors.Select(x => $"{x.Line}:{x.Column}: {x.Message}").Should().Equal(
            "3:1: unknown key 'modle' at the top level; did you mean 'model'?",
            "1:7: name: 'many bad things' may only contain letters, digits, '.', '_' and '-'",
            "2:7: kind: 'uncertanty' is not one of uncertainty, head-attribution, data-scoring, agent-robustness; did you mean 'uncertainty'?",
            "1:1: model is required (at least model.path)",
            "5:24: generation.samples: -1 is out of range [0, 2147483647]",
            "5:35: generation.stop: an empty stop string would end every answer at once",
            "6:25: evaluation.metrics: unknown evaluation metric 'aurok'; did you mean 'auroc'?",
            "6:37: evaluation.metrics: 'ece' is listed twice");
        e.Message.Split(Environment.NewLine).Should().HaveCount(8);
        e.Message.Should().StartWith($"{file}:3:1: unknown key 'modle' at the top level; did you mean 'model'?{Environment.NewLine}{file}:1:7: name:");
    }

    [Theory]
    [InlineData("model: { path: ../model, device: gpu }", 2, 34, "model.device: 'gpu' is not a device; expected cpu, cuda or cuda:N")]
    [InlineData("model: { path: ../model, backend: torchsharpp }", 2, 35, "model.backend: unknown backend 'torchsharpp'; did you mean 'torchsharp'?")]
    [InlineData("model: { path: ../model, backend: tensorflow }", 2, 35, "model.backend: unknown backend 'tensorflow' (known: onnx, torchsharp)")]
    [InlineData("model: { path: ../model, dtype: fp16 }", 2, 33, "model.dtype: 'fp16' is not one of float32, float16, bfloat16")]
    [InlineData("model: { path: ../no-model }", 2, 16, "model.path: model '../no-model' not found (looked in ")]
    [InlineData("model: { path: ../model, tokenizer: tok.model }", 2, 37, "model.tokenizer: tokenizer 'tok.model' not found")]
    [InlineData("model: { path: ../model, options: { threads: [1] } }", 2, 46, "model.options.threads: expected a number, string or boolean, got a list")]
    [InlineData("model: { path: ../model, options: { threadz: 1 } }", 2, 37, "unknown key 'threadz' in model.options of backend 'torchsharp'; did you mean 'threads'?")]
    [InlineData("model: ../model", 2, 8, "model: expected a map, got '../model'")]
    [InlineData("model: { backend: onnx }", 2, 8, "model.path is required")]
    public void Model_section_is_checked(string modelLine, int line, int column, string message)
    {
        var e = _dir.Fails(_dir.Write("recipes/r.yaml", Minimal.Replace("model: { path: ../model }", modelLine)));
        var error = e.Errors.Should().ContainSingle().Which;
        (error.Line, error.Column).Should().Be((line, column));
        error.Message.Should().StartWith(message);
    }

    [Theory]
    [InlineData("dataset: { path: ../data/items.txt }", 3, 18, "dataset.path: cannot tell the format of '../data/items.txt'")]
    [InlineData("dataset: { path: ../data/items.jsonl, limit: 0 }", 3, 46, "dataset.limit: 0 is out of range [1, 2147483647]")]
    [InlineData("dataset: { path: ../data/items.jsonl, format: xml }", 3, 47, "dataset.format: 'xml' is not one of jsonl, json, csv")]
    [InlineData("dataset: { path: ../data/items.jsonl, shuffle: yes }", 3, 48, "dataset.shuffle: expected true or false, got 'yes'")]
    [InlineData("dataset: { input: question }", 3, 10, "dataset.path is required")]
    [InlineData("dataset: ~", 1, 1, "dataset is required for kind 'uncertainty'")]
    public void Dataset_section_is_checked(string datasetLine, int line, int column, string message)
    {
        var e = _dir.Fails(_dir.Write("recipes/r.yaml", Minimal.Replace("dataset: { path: ../data/items.jsonl }", datasetLine)));
        var error = e.Errors.Should().ContainSingle().Which;
        (error.Line, error.Column).Should().Be((line, column));
        error.Message.Should().StartWith(message);
    }

    [Fact]
    public void Json_file_with_an_explicit_format_is_accepted()
    {
        var r = _dir.Loader().Load(_dir.Write("recipes/r.yaml", Minimal.Replace("items.jsonl }", "items.jsonl, format: json }")), []);
        r.Dataset!.Format.Should().Be("json");
    }

    [Theory]
    [InlineData("metrics: []", 4, 10, "metrics: kind 'uncertainty' needs at least one metric")]
    [InlineData("metrics: [msp, msp]", 4, 16, "metric 'msp' is listed twice")]
    [InlineData("metrics: [{ top_heads: 3 }]", 4, 11, "metrics[0]: expected a metric name or a map with 'name', got a map")]
    [InlineData("metrics: { name: msp }", 4, 10, "metrics: expected a list of metric names")]
    [InlineData("metrics: [attention-influence]", 4, 11, "metric 'attention-influence' is a data scorer; kind 'uncertainty' takes sample estimators")]
    public void Metrics_section_is_checked(string metricsLine, int line, int column, string message)
    {
        var e = _dir.Fails(_dir.Write("recipes/r.yaml", Minimal.Replace("metrics: [msp]", metricsLine)));
        var error = e.Errors.Should().ContainSingle().Which;
        (error.Line, error.Column).Should().Be((line, column));
        error.Message.Should().StartWith(message);
    }

    [Fact]
    public void A_single_metric_name_is_a_list_of_one()
    {
        _dir.Loader().Load(_dir.Write("recipes/r.yaml", Minimal.Replace("metrics: [msp]", "metrics: uqac")), [])
            .Metrics.Should().ContainSingle().Which.Name.Should().Be("uqac");
    }

    [Fact]
    public void A_judge_map_without_kind_lists_the_known_judges()
    {
        var e = _dir.Fails(_dir.Write("recipes/r.yaml", Minimal + "\njudge: { tolerance: 1 }\n"));
        e.Errors.Single().Should().Be(new RecipeError(_dir.P("recipes/r.yaml"), 5, 8, "judge.kind is required (known: exact, numeric-final-answer)"));
    }

    [Fact]
    public void Relative_paths_resolve_against_the_working_directory_first_then_the_recipe_folder()
    {
        // Both <work>/data/items.jsonl and <recipes>/data/items.jsonl exist: the working directory wins.
        _dir.Write("work/data/items.jsonl", "{}\n");
        _dir.Write("recipes/data/items.jsonl", "{}\n");
        _dir.Write("recipes/data/only-here.jsonl", "{}\n");
        var file = _dir.Write("recipes/r.yaml", Minimal.Replace("../data/items.jsonl", "data/items.jsonl") + "\noutput: { dir: results }\n");
        var loader = _dir.Loader();

        loader.Load(file, []).Dataset!.Path.Should().Be(_dir.P("work/data/items.jsonl"));
        loader.Load(file, ["dataset.path=data/only-here.jsonl"]).Dataset!.Path
            .Should().Be(_dir.P("recipes/data/only-here.jsonl"), "a --set path falls back to the main recipe's folder");
        loader.Load(file, []).OutputDir.Should().Be(_dir.P("work/results"), "an output folder that exists nowhere goes under the working directory");
        Directory.CreateDirectory(_dir.P("recipes/results"));
        loader.Load(file, []).OutputDir.Should().Be(_dir.P("recipes/results"));
        loader.Load(file, [$"output.dir={_dir.P("abs")}"]).OutputDir.Should().Be(_dir.P("abs"));
    }

    [Fact]
    public void Prompt_templates_are_checked_and_rendered()
    {
        var e = _dir.Fails(_dir.Write("recipes/r.yaml", Minimal + "\nprompt:\n  template: 'Q: {{ques tion}} {{answer}}'\n"));
        e.Errors.Single().Should().Be(new RecipeError(_dir.P("recipes/r.yaml"), 6, 13,
            "prompt.template: placeholder '{{ques tion}}' at character 4 is not a field name (letters, digits, '_', '-', dotted paths)"));

        var prompt = new PromptSpec("Q: {{ question }} from {{meta.source}}\nA:");
        prompt.Fields.Should().Equal("question", "meta.source");
        prompt.Render(f => f == "question" ? "2+2?" : "book").Should().Be("Q: 2+2? from book\nA:");
        var missing = () => prompt.Render(_ => null);
        missing.Should().Throw<KeyNotFoundException>().WithMessage("*question*");
    }

    [Theory]
    [InlineData("name: a\nname: b\n", 2, 1, "duplicate key 'name'")]
    [InlineData("name: x\nmodel: !custom { path: m }\n", 2, 8, "tag '!custom' is not allowed: recipes hold plain data")]
    [InlineData("name: x\n---\nname: y\n", 2, 1, "a recipe file holds one YAML document")]
    [InlineData("- a\n- b\n", 1, 1, "a recipe is a map of keys (name:, model:, ...), got a list")]
    [InlineData("# only a comment\n", 1, 1, "the recipe is empty")]
    [InlineData("name: x\nmodel: *nowhere\n", 2, 8, "unknown alias '*nowhere'")]
    [InlineData("name: x\n[a]: 1\n", 2, 1, "a key must be a plain name, not a list")]
    [InlineData("name: [x\n", 2, 1, "YAML syntax error: ")]
    public void Documents_that_are_not_plain_recipe_data_are_refused(string text, int line, int column, string message)
    {
        var e = _dir.Fails(_dir.Write("recipes/r.yaml", text));
        var error = e.Errors.Should().ContainSingle().Which;
        (error.File, error.Line, error.Column).Should().Be((_dir.P("recipes/r.yaml"), line, column), error.ToString());
        error.Message.Should().StartWith(message);
    }

    [Fact]
    public void Anchors_and_aliases_are_plain_data_but_alias_bombs_are_refused()
    {
        var ok = _dir.Loader().Load(_dir.Write("recipes/ok.yaml", Minimal + "\ngeneration: &g { seed: 4 }\nevaluation: { seed: 4 }\n"), []);
        ok.Generation.Seed.Should().Be(4);

        var bomb = new System.Text.StringBuilder("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for (var i = 1; i < 8; i++)
            bomb.Append($"a{i}: &a{i} [{string.Join(", ", Enumerable.Repeat($"*a{i - 1}", 10))}]\n");
        var e = _dir.Fails(_dir.Write("recipes/bomb.yaml", bomb.ToString()));
        e.Errors.Single().Message.Should().Contain("more than 100000 nodes");
    }

    [Fact]
    public void Merge_keys_copy_an_anchored_map_and_explicit_keys_win()
    {
        var r = _dir.Loader().Load(_dir.Write("recipes/merge.yaml", Minimal.Replace("metrics: [msp]", """
            evaluation: &seeded { seed: 4 }
            generation: { <<: *seeded, max_new_tokens: 12 }
            metrics:
              - msp
              - { <<: &u { name: uqac, top_heads: 4, aggregation: max }, top_heads: 8 }
            prompt: { template: 'Q: {{question}}', <<: { chat: chatml, template: 'ignored' } }
            """)), []);

        (r.Generation.Seed, r.Generation.MaxNewTokens, r.Evaluation.Seed).Should().Be((4L, 12, 4L));
        r.Metrics.Select(m => m.Name).Should().Equal("msp", "uqac");
        r.Metrics[1].Options.Values["top_heads"].Should().Be(8L, "an explicit key wins over the merged one");
        r.Metrics[1].Options.Values["aggregation"].Should().Be("max");
        r.Prompt.Should().Be(new PromptSpec("Q: {{question}}", ChatFormat.ChatMl, null), "an explicit key wins wherever '<<' stands");

        var over = _dir.Loader().Load(_dir.Write("recipes/merge2.yaml", Minimal + """

            generation: { <<: [{ seed: 5, samples: 2 }, { seed: 6, max_new_tokens: 7 }], samples: 3 }
            """), []);
        (over.Generation.Seed, over.Generation.Samples, over.Generation.MaxNewTokens).Should().Be((5L, 3, 7), "the first merged map wins over later ones, explicit keys over both");
    }

    [Theory]
    [InlineData("name: x\ngeneration: { <<: 5 }\n", 2, 19, "'<<' (a YAML merge key) takes a map or a list of maps, such as *defaults or [*a, *b]; got '5'")]
    [InlineData("name: x\ngeneration: { <<: [{ seed: 1 }, 2] }\n", 2, 33, "'<<' (a YAML merge key) takes a map or a list of maps, such as *defaults or [*a, *b]; got '2'")]
    [InlineData("name: x\ngeneration: { <<: { seed: 1 }, <<: { seed: 2 } }\n", 2, 32, "duplicate key '<<'")]
    public void Malformed_merge_keys_are_one_clear_error(string text, int line, int column, string message)
    {
        var e = _dir.Fails(_dir.Write("recipes/r.yaml", text));
        e.Errors.Should().ContainSingle().Which.Should().Be(new RecipeError(_dir.P("recipes/r.yaml"), line, column, message));
    }

    [Fact]
    public void An_output_dir_that_cannot_be_written_is_an_error_at_its_value()
    {
        _dir.Write("blocker", "a file, not a folder");
        var e = _dir.Fails(_dir.Write("recipes/out.yaml", Minimal + "\noutput: { dir: ../blocker/runs }\n"));
        e.Errors.Should().ContainSingle().Which.Should().Be(new RecipeError(_dir.P("recipes/out.yaml"), 5, 16,
            $"output.dir: '../blocker/runs' cannot be created: {_dir.P("blocker")} is a file; pass a folder with --set output.dir=<folder>"));

        var ok = _dir.Loader().Load(_dir.Write("recipes/ok.yaml", Minimal + "\noutput: { dir: ../new/runs }\n"), []);
        ok.OutputDir.Should().Be(_dir.P("new/runs"), "a folder that does not exist yet under a writable one is fine");
        Directory.Exists(_dir.P("new")).Should().BeFalse("checking creates nothing");
        Directory.GetFiles(_dir.Root).Select(Path.GetFileName).Should().Equal(["blocker"], "the write probe is deleted");
    }

    [Fact]
    public void A_missing_recipe_file_is_an_error_naming_it()
    {
        var e = _dir.Fails(_dir.P("recipes/none.yaml"));
        e.Errors.Single().Should().Be(new RecipeError(_dir.P("recipes/none.yaml"), 0, 0, "recipe file not found"));
    }

    [Fact]
    public void Data_scoring_requires_a_dataset_and_data_scorers()
    {
        var e = _dir.Fails(_dir.Write("recipes/r.yaml", "name: ds\nkind: data-scoring\nmodel: { path: ../model }\nmetrics: [attention-influence]\n"));
        e.Errors.Single().Should().Be(new RecipeError(_dir.P("recipes/r.yaml"), 2, 7, "dataset is required for kind 'data-scoring'"));

        var r = _dir.Loader().Load(_dir.Write("recipes/ok.yaml",
            "name: ds\nkind: data-scoring\nmodel: { path: ../model }\ndataset: { path: ../data/items.jsonl, target: }\nmetrics: [{ name: attention-influence, sources: code }]\n"), []);
        r.Kind.Should().Be(BuiltInKinds.DataScoring);
        r.Dataset!.Target.Should().BeNull();
        r.Metrics.Single().Options.GetStringList("sources").Should().Equal("code");
    }

    [Fact]
    public void Path_options_resolve_like_dataset_paths_accept_their_keywords_and_a_missing_one_is_refused_at_its_position()
    {
        _dir.Write("recipes/corpora/c.jsonl", "{}\n");
        Directory.CreateDirectory(_dir.P("recipes/hay"));
        const string head = "name: ds\nkind: data-scoring\nmodel: { path: ../model }\ndataset: { path: ../data/items.jsonl }\n";
        var loader = _dir.Loader();

        var ok = loader.Load(_dir.Write("recipes/ok.yaml", head + "metrics: [{ name: attention-influence, corpus: corpora/c.jsonl, haystack: hay }]\n"), []);
        ok.Metrics.Single().Options.GetString("corpus").Should().Be(_dir.P("recipes/corpora/c.jsonl"), "not in the working directory, so the recipe's folder");
        ok.Metrics.Single().Options.GetString("haystack").Should().Be(_dir.P("recipes/hay"));
        loader.Load(_dir.Write("recipes/kw.yaml", head + "metrics: [{ name: attention-influence, corpus: dataset }]\n"), [])
            .Metrics.Single().Options.GetString("corpus").Should().Be("dataset", "a keyword is kept as it is");

        var errors = _dir.Fails(_dir.Write("recipes/bad.yaml", head + "metrics: [{ name: attention-influence, corpus: corpora/none.jsonl, haystack: corpora/c.jsonl }]\n"))
            .Errors.Select(e => $"{e.Line}:{e.Column}: {e.Message}").ToList();
        errors.Should().Equal(
            $"5:48: metrics.attention-influence.corpus: file 'corpora/none.jsonl' not found (looked in {_dir.WorkDir} and {_dir.P("recipes")}); pass one with --set metrics.0.corpus=<file>",
            $"5:78: metrics.attention-influence.haystack: folder 'corpora/c.jsonl' not found (looked in {_dir.WorkDir} and {_dir.P("recipes")}); pass one with --set metrics.0.haystack=<folder>");
    }

    [Fact]
    public void A_missing_path_into_the_shared_data_folder_says_it_is_not_shipped_and_which_set_replaces_it()
    {
        var file = _dir.Write("recipes/shared.yaml", """
            name: fresh-clone
            model: { path: ../shared/data/models/stories260K/stories260K.bin, tokenizer: ../shared/data/models/stories260K/tok512.bin }
            dataset: { path: ../shared/data/gsm8k/test.jsonl }
            kind: data-scoring
            metrics: [{ name: attention-influence, haystack: ../../shared/data/niah/PaulGrahamEssays }]
            """);
        var errors = _dir.Fails(file).Errors.Select(e => $"{e.Line}:{e.Column}: {e.Message}").ToList();
        var looked = $"(looked in {_dir.WorkDir} and {_dir.P("recipes")})";
        const string shared = "is AttnEval's shared data folder (real models and data sets), which the repository does not ship: place it beside the repository, or pass your own with";
        errors.Should().Equal(
            $"2:16: model.path: model '../shared/data/models/stories260K/stories260K.bin' not found {looked}; ../shared/data {shared} --set model.path=<path>",
            $"2:78: model.tokenizer: tokenizer '../shared/data/models/stories260K/tok512.bin' not found {looked}; ../shared/data {shared} --set model.tokenizer=<path>",
            $"3:18: dataset.path: dataset file '../shared/data/gsm8k/test.jsonl' not found {looked}; ../shared/data {shared} --set dataset.path=<file>",
            $"5:50: metrics.attention-influence.haystack: folder '../../shared/data/niah/PaulGrahamEssays' not found {looked}; ../../shared/data {shared} --set metrics.0.haystack=<folder>");

        // A value the user typed with --set is reported as typed, without advice to --set it.
        _dir.Fails(file, "model.path=../shared/data/none", "model.tokenizer=", "dataset.path=../data/items.jsonl", "metrics=[attention-influence]").Errors
            .Select(e => e.ToString()).Should().Equal($"<command line>:0:1: --set 'model.path=../shared/data/none': model.path: model '../shared/data/none' not found {looked}");
    }

    [Fact]
    public void What_only_the_plugin_can_check_is_reported_at_the_metric_before_any_model_loads()
    {
        const string head = "name: h\nkind: head-attribution\nmodel: { path: ../model }\n";
        _dir.Loader().Load(_dir.Write("recipes/ok.yaml", head + "metrics: [{ name: picky-heads, heads: [0-3] }]\n"), [])
            .Metrics.Single().Name.Should().Be("picky-heads");
        var e = _dir.Fails(_dir.Write("recipes/bad.yaml", head + "metrics:\n  - { name: picky-heads, heads: [x] }\n"));
        e.Errors.Should().ContainSingle().Which.Should().Be(new RecipeError(_dir.P("recipes/bad.yaml"), 5, 5, "metrics.picky-heads.heads[0]: 'x' is not a head"));
    }

    [Theory]
    [InlineData("temprature", "temperature")]
    [InlineData("modle", "model")]
    [InlineData("max-new-tokens", "max_new_tokens")]
    [InlineData("TOP_P", "top_p")]
    [InlineData("msq", "msp")]
    [InlineData("zzz", null)]
    [InlineData("description_long", null)]
    public void Suggestions_are_made_only_for_close_names(string input, string? expected)
    {
        string[] names = ["temperature", "model", "max_new_tokens", "top_p", "top_k", "msp", "description"];
        Suggest.Nearest(input, names).Should().Be(expected);
    }

    [Fact]
    public void Distance_counts_adjacent_transpositions_as_one_edit()
    {
        Suggest.Distance("modle", "model").Should().Be(1);
        Suggest.Distance("temprature", "temperature").Should().Be(1);
        Suggest.Distance("abc", "xyz").Should().Be(3);
        Suggest.Distance("", "abc").Should().Be(3);
    }
}
