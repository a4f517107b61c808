using System.Text.Json.Nodes;
using AttnEval.TestSupport;

namespace AttnEval.Cli.Tests;

/// <summary>The recipe options reference (<c>docs/options-reference.md</c>) is the output of
/// <c>attneval describe --all --markdown</c> for the built-in plugins, and every metric's options (key, type, default) are
/// pinned here, so that moving a plugin onto the SDK's options binder (issue 17) cannot change what recipes accept.</summary>
[Collection("attneval processes")]
public sealed class OptionsReferenceTests
{
    private static readonly Lazy<JsonArray> AllParts = new(() =>
    {
        var (code, stdout, stderr) = AttnEvalProcess.Run(SharedData.RepoRoot, ["describe", "--all", "--json", "--runs", "no-runs-here", "--plugins", AttnEvalProcess.Plugins]);
        code.Should().Be(0, stderr);
        return JsonNode.Parse(stdout)!.AsArray();
    });

    [Fact]
    public void Describe_all_markdown_equals_the_checked_in_options_reference()
    {
        var (code, stdout, stderr) = AttnEvalProcess.Run(SharedData.RepoRoot, ["describe", "--all", "--markdown", "--plugins", AttnEvalProcess.Plugins]);
        code.Should().Be(0, stderr);
        stderr.Should().BeEmpty();
        var file = Path.Combine(SharedData.RepoRoot, "docs", "options-reference.md");
        stdout.ReplaceLineEndings("\n").Should().Be(File.ReadAllText(file).ReplaceLineEndings("\n"),
            "docs/options-reference.md is generated: run `attneval describe --all --markdown > docs/options-reference.md` after changing an option");
    }

    [Fact]
    public void Describe_all_json_is_one_array_with_every_installed_part()
    {
        AllParts.Value.Select(p => (string)p!["name"]!).Should().Contain(["uqac", "sar", "semantic-entropy", "retrieval-heads", "exact"]);
    }

    [Theory]
    [InlineData("search-robustness", "conditions:list of strings=[\"clean\",\"Q-TYPO rate=0.1\",\"Q-REDUND position=after\",\"S-DROP p=1.0\",\"S-ENT p=1.0\",\"R-DISTR m=2 position=top\",\"R-MISLEAD when=first_call\",\"R-NOISE m=1\",\"R-DROPGOLD\",\"R-SHUF\"] | agent:string=\"local\" | endpoint:string=none | model_id:string=none | api_key_env:string=\"OPENAI_API_KEY\" | system_prompt:string=\"Answer the question. Use the search tool to find evidence; you may search several times. Give only the final answer, wrapped as <answer>...</answer>.\" | corpus:file path=\"dataset\" | passages_field:string=\"passages\" | gold_rank_field:string=\"gold_rank\" | aliases_field:string=none | scope:string=\"corpus\" | pad_results:boolean=false | top_k:integer=3 | k1:number=1.2 | b:number=0.75 | max_searches:integer=4 | runs:integer=1 | correct:string=\"em\" | synonyms:file path=none | dataset_label:string=\"dataset\"")]
    [InlineData("attention-influence", "heads_file:file path=none | top_percent:number=5 | probes:integer=100 | probe_pairs:integer=12 | key_length:integer=32 | value_words:integer=6 | uniform_mode:string=\"causal\" | chunk_tokens:integer=4096 | group_field:string=\"domain\" | select_percent:number=20 | ablation_draws:integer=5 | ablation_exclude:list of strings=none | check_documents:integer=64")]
    [InlineData("attention-sinks", "tau:number=0.1 | sequence:string=\"prompt\" | max_new_tokens:integer=64 | min_rows:integer=1 | stop:list of strings=none | act_check:boolean=false | act_beta:number=0.4 | act_heads:list of strings=none | act_top_k:integer=4")]
    [InlineData("attention-score", "layer:integer=none | gen_only:boolean=false")]
    [InlineData("csl", "template_file:file path=none | question:string=\"prompt\"")]
    [InlineData("exp-attention-entropy", "coef:number=required")]
    [InlineData("exp-attention-recursive", "coef:number=required")]
    [InlineData("focus", "gamma:number=0.9 | p:number=0.01 | idf_file:file path=none | keywords:string=\"heuristic\"")]
    [InlineData("rauq", "alpha:number=none | use_entropy:boolean=false | layers:list of integers=none")]
    [InlineData("degree", "similarity:string=\"jaccard\"")]
    [InlineData("discrete-semantic-entropy", "equivalence:string=\"final-answer\" | similarity_threshold:number=0.9")]
    [InlineData("eccentricity", "similarity:string=\"jaccard\" | eigv_threshold:number=0.9")]
    [InlineData("eigv", "similarity:string=\"jaccard\"")]
    [InlineData("ln-predictive-entropy", "include_eos:boolean=true")]
    [InlineData("predictive-entropy", "include_eos:boolean=true")]
    [InlineData("semantic-entropy", "variant:string=\"farquhar\" | unique_responses:boolean=false | equivalence:string=\"final-answer\" | similarity_threshold:number=0.9 | include_eos:boolean=true")]
    [InlineData("reasoning-rhythm", "window:integer=10 | horizon_lo:integer=10 | horizon_hi:integer=100 | group_fraction:number=0.3 | layers:list of integers=none | layer_count:integer=5 | peak_quantile:number=0.75 | coupling_lag:integer=3 | top_fai_fraction:number=0.4 | report_items:integer=20")]
    [InlineData("receiver-heads", "top_k:integer=20 | proximity_ignore:integer=4 | exclude_layer0:boolean=true | response:string=\"generate\" | max_new_tokens:integer=256 | stop:list of strings=none | boundaries:string=\"sentences\" | include_prompt:boolean=false | min_sentences:integer=2")]
    [InlineData("retrieval-heads", "protocol:string=\"niah\" | needles:string=none | haystack:folder path=none | context_lengths:list of integers=none | context_min:integer=1000 | context_max:integer=50000 | context_n:integer=20 | depth_n:integer=10 | depth_spacing:string=\"linear\" | buffer_tokens:integer=200 | question_template:string=\"Based on the content of the book, Question: {question}\nAnswer:\" | needle_fields:list of strings=none | max_new_tokens:integer=50 | stop_on_newline:boolean=true | span_overlap:number=0.9 | success_threshold:number=50 | score_mode:string=\"event_count\" | threshold:number=0.1 | heads_file:string=\"heads.json\" | merge_with:file path=none | ablation_k:integer=0 | ablation_draws:integer=5 | ablation_op:string=\"uniform_attention\" | ablation_trials:integer=0 | ablation_exclude_top:integer=100 | ablation_exclude:list of strings=none | mask_phase:string=\"decode\"")]
    [InlineData("safety-heads", "label_field:string=none | flagged_value:string=\"flagged\" | benign_path:file path=none | benign_input:string=\"instruction\" | benign_target:string=none | benign_limit:integer=100 | ablation_op:string=\"scale_query\" | epsilon:number=1E-05 | queries:integer=0 | ships_topk:integer=10 | kl_smoothing:number=1E-12 | representation:string=\"hidden\" | subspace:string=\"left_singular\" | rank:integer=1 | units:string=\"degrees\" | sahara_steps:integer=3 | max_new_tokens:integer=128 | eval_top_k:integer=0 | stop:list of strings=none | keyword_list:string=\"fixed\" | short_response_chars:integer=32 | extra_refusal_keywords:list of strings=none | ablation_draws:integer=5 | exclude_heads:list of strings=none | benign_tolerance:number=0.1")]
    [InlineData("sar", "temperature:number=0.001 | num_samples:integer=5 | question_prefix:boolean=true")]
    [InlineData("sent-sar", "temperature:number=0.001 | num_samples:integer=5 | question_prefix:boolean=true")]
    [InlineData("token-sar", "question_prefix:boolean=true")]
    [InlineData("uqac", "top_heads:integer=16 | layers:list of integers=none | buffer:integer=3 | threshold:number=0.5 | min_chain_length:integer=5 | max_steps:integer=1000 | similarity_top_k:integer=10 | similarity_threshold:number=0 | similarity:string=\"hidden\" | top_alternatives:integer=5 | ens_threshold:number=0.01 | ens_k:integer=10 | answer_format:string=\"number\" | variant:string=\"ens_marginal\" | number_span:string=\"whole\" | parity_quirks:boolean=false")]
    public void A_parts_options_keep_their_keys_types_and_defaults(string part, string options)
    {
        var node = AllParts.Value.Single(p => (string)p!["name"]! == part)!;
        var actual = node["options"]!.AsArray().Select(o => $"{(string)o!["key"]!}:{(string)o["type"]!}=" +
            ((bool)o["required"]! ? "required" : Norm(o["default"])));
        actual.Should().Equal(options.Split(" | "));
    }

    /// <summary>A default as the pins write it: numbers in round-trip form, strings quoted but not escaped.</summary>
    private static string Norm(JsonNode? v) => v switch
    {
        null => "none",
        JsonArray a => "[" + string.Join(",", a.Select(Norm)) + "]",
        JsonValue x when x.GetValueKind() == System.Text.Json.JsonValueKind.String => "\"" + (string)x! + "\"",
        JsonValue x when x.GetValueKind() == System.Text.Json.JsonValueKind.Number => x.GetValue<double>().ToString("R", System.Globalization.CultureInfo.InvariantCulture),
        _ => v.ToJsonString(),
    };

    [Fact]
    public void Describe_without_a_name_or_all_is_a_usage_error()
    {
        var (code, _, stderr) = AttnEvalProcess.Run(SharedData.RepoRoot, ["describe", "--plugins", AttnEvalProcess.Plugins]);
        code.Should().Be(2);
        stderr.Should().Contain("describe needs a part's name, or --all --markdown");
    }
}
