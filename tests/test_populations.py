"""The population vocabulary (hyperreps.generative.populations) is the one the config schema,
the sampler
registry and the tables use."""

from hyperreps.generative import mixing_populations, populations
from hyperreps.generative import tables as generative_tables
from hyperreps.config.schema import load_schema
from hyperreps.sampling.samplers import SAMPLERS


def test_vocabulary_is_consistent():
    assert populations.ALL_POPULATIONS == (*populations.SAMPLED, *populations.MIXED,
                                           *populations.NOVELTY_BASELINES, *populations.BASELINES)
    assert len(set(populations.ALL_POPULATIONS)) == len(populations.ALL_POPULATIONS)
    assert populations.GENERATED == populations.ALL_POPULATIONS[:-1]
    assert populations.ALL_POPULATIONS[-1] == populations.SCRATCH == "B_T"
    for name, (sampler, anchors, variant) in populations.LATENT_POPULATIONS.items():
        assert sampler in SAMPLERS, name
        assert anchors in ("all", "top") and variant in ("lwln", "baseline"), name
    assert generative_tables.order_populations(reversed(populations.ALL_POPULATIONS)) == \
        list(populations.ALL_POPULATIONS)
    assert [p for p in populations.ALL_POPULATIONS if generative_tables.is_sampled(p)] == \
        list(populations.SAMPLED)


def test_schema_population_enums_are_the_vocabulary():
    schema = load_schema()
    defs = schema["$defs"]
    assert tuple(defs["sampled_population"]["enum"]) == populations.SAMPLED
    assert tuple(defs["generated_population"]["enum"]) == populations.GENERATED
    assert tuple(defs["population"]["enum"]) == populations.ALL_POPULATIONS
    gen = schema["properties"]["generative"]["properties"]
    assert gen["populations"]["items"] == {"$ref": "#/$defs/generated_population"}
    assert tuple(gen["populations"]["default"]) == populations.GENERATED
    assert {"$ref": "#/$defs/sampled_population"} in gen["noise_match"]["anyOf"]
    # a selected population needs its noise baseline under the same selection
    assert gen["populations"]["if"] == {"contains": {"const": "W_Mix2_QD"}}
    assert [(k, v[1]) for k, v in mixing_populations.SELECTION_BASELINES.items()] == \
        [("W_Mix2_QD", gen["populations"]["then"]["contains"]["const"])]
    ensembles = gen["ensembles"]["properties"]["populations"]
    assert ensembles["items"] == {"$ref": "#/$defs/population"}
