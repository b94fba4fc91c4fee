"""Scope: what hipbot answers, what it declines, and the parts of a question it will not do."""

from __future__ import annotations

import re
from dataclasses import dataclass

# Words that tie a message to what the articles cover: the body parts, the pain and the activities.
BODY_TOPIC = re.compile(
    r"\b(hips?|pelvi\w*|back|spine|spinal|lumbar|legs?|knees?|thighs?|groin|glutes?|butt|buttocks?|bum|"
    r"sciatic\w*|psoas|iliacus|iliopsoas|hamstrings?|piriformis|quads?|flexors?|stretch\w*|yoga|posture|"
    r"sitting|sit|muscles?|tendon\w*|bursitis|joints?|foot|feet|ankles?|calf|calves|core|abs|cycling|bike|"
    r"running|tailbone|sacroiliac|si joint|impingement|labrum|labral|dysplasia|arthritis|osteoarthritis|"
    r"limp\w*|sore|stiff\w*|tight\w*|pain\w*|ache\w*|hurts?|surgery|replacement|physio\w*|massage|"
    r"foam roll\w*|mobility|flexib\w*|hypermobil\w*|dancers?|gymnast\w*|pigeon|lunge\w*|squat\w*|walk\w*)\b",
    re.IGNORECASE,
)
# Instructions aimed at the assistant rather than questions for it.
INSTRUCTIONS_TO_ASSISTANT = re.compile(
    r"\b(ignore|disregard|forget|override|bypass)\b[^.?!]{0,40}\b(instructions?|rules?|prompts?|guidelines?|"
    r"above|previous|system)\b|\b(system|hidden|initial) (prompt|instructions?|configuration|config|rules)\b|"
    r"\b(reveal|show|print|repeat|tell me) (me )?(your|the) (prompt|instructions|configuration|config|rules|"
    r"settings|source code)\b|\bjailbreak\b|\bdeveloper mode\b|\byou are now\b|\bpretend (to be|you are)\b|"
    r"\bact as (a|an|my)\b",
    re.IGNORECASE,
)
# Subjects the articles do not cover: other health problems, and everyday topics.
UNCOVERED = re.compile(
    r"\b(migraines?|headaches?|acne|pimples?|rash\w*|eczema|psoriasis|ear infections?|earache|antibiotics?|"
    r"insulin|diabet\w*|blood sugar|sore throat|strep|tonsil\w*|cough\w*|colds?|flu|covid|fever|vaccin\w*|"
    r"tooth|teeth|dental|eyes?|vision|blood pressure|cholesterol|allerg\w*|asthma|heartburn|reflux|"
    r"thyroid|anxiety|insomnia|hair loss|weight loss pills?|contracepti\w*|recipes?|bake|baking|cook\w*|"
    r"python|javascript|java|code|coding|program\w*|linked list|sql|excel|weather|rain|forecast|"
    r"who won|score|lakers|football|soccer|nba|nfl|election|president|capital of|flights?|hotels?|"
    r"vacation|holiday|cover letter|resume|essay|poem|email|stock|crypto|bitcoin|translate|movie|song|"
    r"homework|math)\b",
    re.IGNORECASE,
)
DIAGNOSIS_REQUEST = re.compile(
    r"\b(do|did|could|might|would) i (have|have got)\b|\b(is|could|might) (it|this|that) be\b|"
    r"\bis (it|this|that) (a |an )?[a-z ]{0,20}(bursitis|sciatica|arthritis|impingement|tear|dysplasia|"
    r"syndrome|fracture|tendonitis|tendinitis|tendinopathy)\b|\bdiagnos\w*|"
    r"\bwhat(’|')?s wrong with (me|my)\b|"
    r"\bwhat (condition|disease|injury) (do|have) i\b",
    re.IGNORECASE,
)
MEDICATION_REQUEST = re.compile(
    r"\b(dose|doses|dosage|dosing|mg|milligrams?|how many (pills|tablets|capsules)|prescri\w*|painkillers?|"
    r"ibuprofen|advil|motrin|naproxen|aleve|aspirin|paracetamol|acetaminophen|tylenol|codeine|tramadol|"
    r"oxycodone|opioids?|gabapentin|pregabalin|lyrica|diclofenac|voltaren|celecoxib|meloxicam|"
    r"cyclobenzaprine|muscle relaxants?|steroid injections?|cortisone|prednisone|anti-?inflammator\w*)\b",
    re.IGNORECASE,
)
DIAGNOSIS_NOTE = (
    "I can't tell you whether you have a particular condition: only a clinician who examines you can "
    "diagnose it. Here is what the articles say in general."
)
MEDICATION_NOTE = (
    "I can't advise on medicines or doses: please ask a pharmacist or your doctor, who can check what is "
    "safe for you."
)


@dataclass(frozen=True)
class Scope:
    """How a message is handled: in scope or not, and the parts hipbot declines to do."""

    in_scope: bool
    reason: str | None = None
    wants_diagnosis: bool = False
    wants_medication: bool = False

    @property
    def notes(self) -> list[str]:
        """The plain refusals to put before the answer."""
        return [
            note
            for want, note in (
                (self.wants_diagnosis, DIAGNOSIS_NOTE),
                (self.wants_medication, MEDICATION_NOTE),
            )
            if want
        ]


def classify_scope(message: str) -> Scope:
    """Decide from the message's own words whether it is something the articles could answer."""
    if INSTRUCTIONS_TO_ASSISTANT.search(message):
        return Scope(False, "instructions to the assistant")
    about_the_body = bool(BODY_TOPIC.search(message))
    if UNCOVERED.search(message) and not about_the_body:
        return Scope(False, "a topic the articles do not cover")
    medication = bool(MEDICATION_REQUEST.search(message))
    if medication and not about_the_body:
        return Scope(False, "medicines outside the articles' topics")
    return Scope(True, None, bool(DIAGNOSIS_REQUEST.search(message)), medication)
