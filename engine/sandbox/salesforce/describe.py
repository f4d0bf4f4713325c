"""Describe answers (global, per object, basic info), rendered from the org's metadata.

Field keys follow jsforce's `Field` type (src/types/common.ts), the shape
clients read: name, label, type, length, byteLength, precision, scale, digits,
nillable, createable, updateable, defaultedOnCreate, unique, externalId,
idLookup, caseSensitive, custom, calculated, autoNumber, referenceTo,
relationshipName, polymorphicForeignKey, restrictedPicklist, picklistValues,
soapType, and the rest with the platform's usual values. `createable` of the
audit fields follows the org's Set Audit Fields knob; fields hidden by
field-level security are left out. Every object has the Master record type.
"""

from __future__ import annotations

from typing import Any

from engine.sandbox.salesforce.metadata import FieldMeta, ObjectMeta
from engine.sandbox.salesforce.org import Org
from engine.sandbox.salesforce.values import STRING_TYPES, soap_type

MASTER_RECORD_TYPE = "012000000000000AAA"


def _urls(version: str, name: str) -> dict[str, str]:
    base = f"/services/data/v{version}/sobjects/{name}"
    return {"compactLayouts": f"{base}/describe/compactLayouts", "rowTemplate": f"{base}/{{ID}}",
            "approvalLayouts": f"{base}/describe/approvalLayouts",
            "defaultValues": f"{base}/defaultValues?recordTypeId&fields", "describe": f"{base}/describe",
            "quickActions": f"{base}/quickActions", "layouts": f"{base}/describe/layouts", "sobject": base}


def field_json(meta: FieldMeta, *, set_audit_fields: bool) -> dict[str, Any]:
    text = meta.type in STRING_TYPES or meta.type in ("id", "reference")
    sortable = not (meta.type == "textarea" and meta.length > 255) and meta.type != "multipicklist"
    return {
        "aggregatable": sortable, "aiPredictionField": False, "autoNumber": meta.auto_number,
        "byteLength": meta.length * 3 if text else 0, "calculated": meta.calculated,
        "calculatedFormula": None,
        "cascadeDelete": False, "caseSensitive": meta.case_sensitive, "compoundFieldName": None,
        "controllerName": None, "createable": meta.is_createable(set_audit_fields), "custom": meta.custom,
        "defaultValue": meta.default_value, "defaultValueFormula": None,
        "defaultedOnCreate": meta.defaulted_on_create, "dependentPicklist": False,
        "deprecatedAndHidden": False, "digits": meta.digits, "displayLocationInDecimal": False,
        "encrypted": False, "externalId": meta.external_id, "extraTypeInfo": None, "filterable": sortable,
        "filteredLookupInfo": None, "formulaTreatNullNumberAsZero": False, "groupable": sortable,
        "highScaleNumber": False, "htmlFormatted": False, "idLookup": meta.id_lookup, "inlineHelpText": None,
        "label": meta.label, "length": meta.length, "mask": None, "maskType": None, "name": meta.name,
        "nameField": meta.name_field, "namePointing": meta.polymorphic and meta.name == "OwnerId",
        "nillable": meta.nillable, "permissionable": meta.nillable and meta.custom,
        "picklistValues": [v.describe() for v in meta.picklist], "polymorphicForeignKey": meta.polymorphic,
        "precision": meta.precision, "queryByDistance": False, "referenceTargetField": None,
        "referenceTo": list(meta.reference_to), "relationshipName": meta.relationship_name,
        "relationshipOrder": None, "restrictedDelete": False, "restrictedPicklist": meta.restricted_picklist,
        "scale": meta.scale, "searchPrefilterable": False, "soapType": soap_type(meta.type),
        "sortable": sortable, "type": meta.type, "unique": meta.unique, "updateable": meta.is_updateable(),
        "writeRequiresMasterRead": False,
    }


def _child_relationships(org: Org, meta: ObjectMeta) -> list[dict[str, Any]]:
    out = []
    for other in org.objects():
        for child in other.visible_fields():
            if child.type == "reference" and meta.name in child.reference_to:
                out.append({"cascadeDelete": False, "childSObject": other.name, "deprecatedAndHidden": False,
                            "field": child.name, "junctionIdListNames": [], "junctionReferenceTo": [],
                            "relationshipName": None, "restrictedDelete": False})
    return out


def describe_object(org: Org, meta: ObjectMeta, version: str) -> dict[str, Any]:
    """GET /sobjects/{T}/describe."""
    urls = _urls(version, meta.name)
    return {
        "actionOverrides": [], "activateable": False, "associateEntityType": None,
        "associateParentEntity": None,
        "childRelationships": _child_relationships(org, meta), "compactLayoutable": True,
        "createable": meta.createable, "custom": meta.custom, "customSetting": False, "deepCloneable": False,
        "defaultImplementation": None, "deletable": meta.deletable, "deprecatedAndHidden": False,
        "extendedBy": None, "extendsInterfaces": None, "feedEnabled": False,
        "fields": [field_json(f, set_audit_fields=org.set_audit_fields) for f in meta.visible_fields()],
        "hasSubtypes": False, "implementedBy": None, "implementsInterfaces": None, "isInterface": False,
        "isSubtype": False, "keyPrefix": meta.key_prefix, "label": meta.label,
        "labelPlural": meta.label_plural,
        "layoutable": True, "listviewable": None, "lookupLayoutable": None, "mergeable": False,
        "mruEnabled": True, "name": meta.name, "namedLayoutInfos": [], "networkScopeFieldName": None,
        "queryable": meta.queryable,
        "recordTypeInfos": [{"active": True, "available": True, "defaultRecordTypeMapping": True,
                             "developerName": "Master", "master": True, "name": "Master",
                             "recordTypeId": MASTER_RECORD_TYPE,
                             "urls": {"layout": f"{urls['sobject']}/describe/layouts/{MASTER_RECORD_TYPE}"}}],
        "replicateable": True, "retrieveable": True, "searchLayoutable": True, "searchable": True,
        "sobjectDescribeOption": "FULL", "supportedScopes": [{"label": "All records", "name": "everything"}],
        "triggerable": True, "undeletable": meta.deletable, "updateable": meta.updateable, "urls": urls,
    }


def object_summary(meta: ObjectMeta, version: str) -> dict[str, Any]:
    """One entry of the global describe (and GET /sobjects/{T}'s objectDescribe)."""
    urls = _urls(version, meta.name)
    return {
        "activateable": False, "associateEntityType": None, "associateParentEntity": None,
        "createable": meta.createable, "custom": meta.custom, "customSetting": False, "deepCloneable": False,
        "deletable": meta.deletable, "deprecatedAndHidden": False, "feedEnabled": False, "hasSubtypes": False,
        "isInterface": False, "isSubtype": False, "keyPrefix": meta.key_prefix, "label": meta.label,
        "labelPlural": meta.label_plural, "layoutable": True, "mergeable": False, "mruEnabled": True,
        "name": meta.name, "queryable": meta.queryable, "replicateable": True, "retrieveable": True,
        "searchable": True, "triggerable": True, "undeletable": meta.deletable, "updateable": meta.updateable,
        "urls": {"rowTemplate": urls["rowTemplate"], "defaultValues": urls["defaultValues"],
                 "describe": urls["describe"], "sobject": urls["sobject"]},
    }


def global_describe(org: Org, version: str) -> dict[str, Any]:
    """GET /sobjects."""
    return {"encoding": "UTF-8", "maxBatchSize": 200,
            "sobjects": [object_summary(m, version) for m in sorted(org.objects(), key=lambda m: m.name)]}
