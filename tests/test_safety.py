"""Red-flag triage: one or more cases of our own per category, the figures-of-speech traps, and the reply."""

import pytest

from hipbot.safety import load_rules, triage

EMERGENCY = [
    (
        "suspected_hip_fracture",
        "Grandad tripped over the dog last night and now he cant stand up, his hip is agony",
    ),
    (
        "suspected_hip_fracture",
        "I slipped on ice. My left leg looks shorter than the right and the foot points outward",
    ),
    (
        "cauda_equina",
        "Back has been bad for a week, today there's numbness around my back passage and bottom",
    ),
    ("cauda_equina", "sciatica flared up and since this morning I'm having trouble passing urine"),
    ("pulmonary_embolism", "Flew home from Australia two days ago and suddenly I'm short of breath"),
    ("pulmonary_embolism", "after my hip op I started coughing up blood"),
    (
        "dislocated_hip_replacement",
        "Had a total hip replacement in May, bent down and felt it pop, now I cant move the leg",
    ),
    ("major_trauma", "was in a car accident an hour ago and my pelvis hurts"),
    ("cold_pale_leg", "My foot has suddenly gone white and cold and it's really painful"),
]
URGENT_TODAY = [
    (
        "hot_swollen_joint_with_fever",
        "had a steroid injection in my hip last week, now it's red and swollen and I have a temperature",
    ),
    ("possible_blood_clot_calf", "my calf is swollen and tender since the long flight"),
    ("wound_infection_after_surgery", "the wound from my hip surgery is weeping pus"),
    ("child_limp", "my 4 yr old is limping and wont put weight on her left leg, no fever"),
    ("teen_limp_hip_knee_pain", "my 14 year old daughter has been limping for 3 weeks with thigh pain"),
    ("worsening_leg_weakness", "my right foot drags when I walk and the leg is getting weaker every day"),
    (
        "sudden_pop_cannot_move_leg",
        "Sprinting, I felt a pop at the top of my thigh and now I can't lift my leg",
    ),
    ("pain_after_cancer", "I had prostate cancer two years ago and now I have new pain in my lower back"),
    ("weight_loss_night_sweats_night_pain", "hip aches, and I've been having night sweats for weeks"),
    ("weight_loss_night_sweats_night_pain", "I have lost a stone without trying and my back hurts"),
    ("pregnancy_bleeding_or_severe_pain", "I'm 30 weeks pregnant with pelvic pain and some bleeding"),
]
CAUTION = [
    ("inflammatory_back_pain", "I'm 28 and my lower back has been stiff every morning for about six months"),
    (
        "groin_pain_steroids_or_alcohol",
        "I've been on prednisone for years for my lungs and now my groin aches",
    ),
    ("pelvic_pain_in_pregnancy", "pregnant with my second and my pubic bone hurts when I walk"),
]
CRISIS = [
    "i cant take this pain anymore, i want to die",
    "Sometimes I think my family would be better off without me",
    "I've been cutting myself again because of the pain",
    "honestly thinking about ending my life",
]
# Figures of speech, negations, resolved history and everyday discomfort: none may escalate.
NOT_RED_FLAGS = [
    "I'm dying for a good stretch after this week",
    "my week has been a train wreck and my hips are tight",
    "this pigeon pose kills me every time",
    "my hips are killing me after gardening",
    "my foot goes to sleep when I kneel in yoga",
    "no numbness or weakness, just a tight hip flexor",
    "I was treated for cancer long ago and clear since, my hamstrings are tight",
    "losing weight on my new diet and my hips feel better",
    "fell asleep on the sofa and my back is stiff",
    "the doctor said I have a slipped disc, which stretches help?",
    "my butt goes numb on long rides but it goes away when I stand",
    "I'm not suicidal, just fed up with this sciatica",
    "I get a bit out of breath on hills, and my hips are tight",
    "my hip feels warm after hot yoga",
    "I did 100 squats and my hip is a bit sore",
    "my son does gymnastics and is very flexible, should he stretch?",
    "we went on a road trip and my right hip hurts",
]


@pytest.mark.parametrize(("category", "message"), EMERGENCY + URGENT_TODAY)
def test_red_flags_escalate_to_urgent(category: str, message: str) -> None:
    result = triage([message])
    assert result.escalated
    assert result.category == category
    assert result.to_safety().level == "urgent"


def test_emergency_reply_says_to_call_now_and_names_no_product() -> None:
    result = triage(["my mum fell and cannot stand, should she use the hip hook?"])
    assert result.level == "emergency"
    assert result.message and result.message.startswith("Call 911 now")
    assert "hook" not in result.message.lower()


def test_urgent_reply_says_today() -> None:
    result = triage(["my calf is swollen and warm after my hip operation"])
    assert result.level == "urgent"
    assert "today" in (result.message or "")


@pytest.mark.parametrize(("category", "message"), CAUTION)
def test_see_a_doctor_soon_is_caution(category: str, message: str) -> None:
    result = triage([message])
    assert (result.level, result.category) == ("caution", category)
    assert result.to_safety().level == "caution"


@pytest.mark.parametrize("message", CRISIS)
def test_crisis_gets_contacts_for_the_region(message: str) -> None:
    us, uk = triage([message], "US"), triage([message], "UK")
    assert us.level == "crisis" and us.to_safety().level == "urgent"
    assert "988" in (us.message or "")
    assert "116 123" in (uk.message or "") and "999" in (uk.message or "")


@pytest.mark.parametrize("message", NOT_RED_FLAGS)
def test_figures_of_speech_and_negations_do_not_escalate(message: str) -> None:
    assert not triage([message]).escalated, triage([message])


def test_symptoms_told_in_an_earlier_turn_count() -> None:
    assert not triage(["I tripped on the stairs yesterday"]).escalated
    assert triage(["I tripped on the stairs yesterday", "now I can't put any weight on my leg"]).escalated


def test_long_understated_story_with_the_symptom_at_the_end() -> None:
    story = (
        "So I've been doing yoga for years and usually my hips are fine, I stretch every day and I cycle to "
        "work. Last month I started a new class and the teacher is great. It's likely nothing, just asking, "
        "but since Tuesday I can't really feel anything when I wipe, kind of numb between my legs."
    )
    assert triage([story]).category == "cauda_equina"


def test_rules_file_is_reviewed_data() -> None:
    rules = load_rules()
    categories = {rule.category for rule in rules.rules}
    assert {"suspected_hip_fracture", "cauda_equina", "suicidal_thoughts", "child_limp"} <= categories
    for rule in rules.rules:
        assert rule.level in {"emergency", "urgent", "caution", "crisis"}
        assert rule.reason or rule.level == "crisis"
