"""End to end with a real client: the SMART on FHIR Python client (fhirclient 4.4,
FHIR R4 models) creates, reads, updates, searches and deletes through Tillit.

    python3 tests/e2e/fhirclient_smoke.py http://127.0.0.1:8080/fhir UNIQUE-SUFFIX
"""
import sys

from fhirclient.models.observation import Observation
from fhirclient.models.patient import Patient
from fhirclient.server import FHIRServer

base, suffix = sys.argv[1], sys.argv[2]
server = FHIRServer(None, base)
fnr_system = "urn:oid:2.16.578.1.12.4.1.4.1"

patient = Patient({
    "name": [{"family": "Nordmann", "given": ["Kari"]}],
    "gender": "female",
    "birthDate": "1985-03-15",
    "identifier": [{"system": fnr_system, "value": f"fhirclient-{suffix}"}],
})
created = patient.create(server)
patient_id = created["id"]

read = Patient.read(patient_id, server)
assert read.name[0].family == "Nordmann", read.as_json()
assert read.birthDate.isostring == "1985-03-15", read.as_json()
assert read.meta.versionId == "1", read.as_json()

read.gender = "other"
read.update(server)
again = Patient.read(patient_id, server)
assert again.gender == "other" and again.meta.versionId == "2", again.as_json()

observation = Observation({
    "status": "final",
    "code": {"coding": [{"system": "http://loinc.org", "code": "29463-7", "display": "Body weight"}]},
    "subject": {"reference": f"Patient/{patient_id}"},
    "valueQuantity": {"value": 72.5, "unit": "kg", "system": "http://unitsofmeasure.org", "code": "kg"},
})
observation_id = observation.create(server)["id"]
weight = Observation.read(observation_id, server)
assert weight.valueQuantity.value == 72.5, weight.as_json()
assert weight.subject.reference == f"Patient/{patient_id}", weight.as_json()

found = Patient.where({"identifier": f"{fnr_system}|fhirclient-{suffix}"}).perform_resources(server)
assert [p.id for p in found] == [patient_id], [p.as_json() for p in found]

again.delete(server)
try:
    Patient.read(patient_id, server)
    raise AssertionError("a deleted patient must not be readable")
except Exception as gone:  # fhirclient raises requests' HTTPError
    assert "410" in str(gone), gone

print("fhirclient end-to-end: ok")
