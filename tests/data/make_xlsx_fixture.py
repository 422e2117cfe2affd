#!/usr/bin/env python3
"""Writes first_sheet_not_sheet1.xlsx, the hand-made XLSX fixture of test_tables.

It has what libxlsxwriter never produces but Excel and WPS do: the first sheet
in the workbook is stored as sheet2.xml (so the reader must follow r:id),
prefixed element names (x:), strings split into rich-text runs with a
phonetic guide (rPh) to drop, an _x000D_ escape, cells without r attributes,
a skipped column, a date stored as a serial number, an error value, a row of
formatting only, and a DOCTYPE-free but namespace-heavy workbook.

Run from tests/data: python3 make_xlsx_fixture.py
"""
import zipfile

NS = 'http://schemas.openxmlformats.org/spreadsheetml/2006/main'
R = 'http://schemas.openxmlformats.org/officeDocument/2006/relationships'

files = {
    '[Content_Types].xml': '<?xml version="1.0" encoding="UTF-8"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '</Types>',
    '_rels/.rels': '<?xml version="1.0" encoding="UTF-8"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
    '</Relationships>',
    'xl/workbook.xml': f'<?xml version="1.0" encoding="UTF-8"?>'
    f'<x:workbook xmlns:x="{NS}" xmlns:rel="{R}"><x:sheets>'
    f'<x:sheet name="名录" sheetId="2" rel:id="rId7"/>'
    f'<x:sheet name="说明" sheetId="1" rel:id="rId3"/>'
    f'</x:sheets></x:workbook>',
    'xl/_rels/workbook.xml.rels': '<?xml version="1.0" encoding="UTF-8"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>'
    '<Relationship Id="rId7" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="/xl/worksheets/sheet2.xml"/>'
    '<Relationship Id="rId9" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="./strings.xml"/>'
    '</Relationships>',
    'xl/strings.xml': f'<?xml version="1.0" encoding="UTF-8"?>'
    f'<x:sst xmlns:x="{NS}" count="4" uniqueCount="4">'
    f'<x:si><x:t>统一社会信用代码</x:t></x:si>'
    f'<x:si><x:r><x:t>北京</x:t></x:r><x:r><x:rPr><x:b/></x:rPr><x:t xml:space="preserve">某某 </x:t></x:r>'
    f'<x:r><x:t>公司</x:t></x:r><x:rPh sb="0" eb="2"><x:t>ペキン</x:t></x:rPh></x:si>'
    f'<x:si><x:t>第一行_x000D_\n第二行</x:t></x:si>'
    f'<x:si><x:t>91110000MA01ABCD2X</x:t></x:si>'
    f'</x:sst>',
    'xl/worksheets/sheet1.xml': f'<?xml version="1.0" encoding="UTF-8"?>'
    f'<worksheet xmlns="{NS}"><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>WRONG SHEET</t></is></c></row>'
    f'</sheetData></worksheet>',
    'xl/worksheets/sheet2.xml': f'<?xml version="1.0" encoding="UTF-8"?>'
    f'<x:worksheet xmlns:x="{NS}"><x:sheetData>'
    f'<x:row r="1"><x:c r="A1" t="s"><x:v>0</x:v></x:c><x:c t="inlineStr"><x:is><x:t>名称</x:t></x:is></x:c>'
    f'<x:c r="D1" t="inlineStr"><x:is><x:t>日期</x:t></x:is></x:c></x:row>'
    f'<x:row r="2" spans="1:6"><x:c r="A2" t="s"><x:v>3</x:v></x:c><x:c r="B2" t="s" s="1"><x:v>1</x:v></x:c>'
    f'<x:c r="D2" s="2"><x:v>45292</x:v></x:c><x:c r="E2" t="e"><x:v>#N/A</x:v></x:c></x:row>'
    f'<x:row r="3"><x:c r="A3" s="4"/><x:c r="B3" s="4"/></x:row>'
    f'<x:row r="5"><x:c r="A5"><x:v>9.1101000000000006E+17</x:v></x:c><x:c r="B5" t="s"><x:v>2</x:v></x:c>'
    f'<x:c r="C5" t="str"><x:f>A5&amp;""</x:f><x:v>911010000000000000</x:v></x:c>'
    f'<x:c r="D5" t="b"><x:v>0</x:v></x:c></x:row>'
    f'</x:sheetData></x:worksheet>',
}

with zipfile.ZipFile('first_sheet_not_sheet1.xlsx', 'w', zipfile.ZIP_DEFLATED) as z:
    for name, text in files.items():
        z.writestr(name, text.encode('utf-8'))
